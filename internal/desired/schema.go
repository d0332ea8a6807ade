package desired

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft-07, which yaml-language-server supports fully) of one manifest document,
// for editors. It is hand-written beside the loader; the loader remains the
// authority, and a test keeps the two agreeing on manifests/.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }
