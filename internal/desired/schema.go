package desired

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of one manifest document,
// for editors. It is hand-written beside the loader; the loader remains the
// authority, and a test keeps the two agreeing on manifests/.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }
