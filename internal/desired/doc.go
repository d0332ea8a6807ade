// Package desired loads a directory of syncd manifests (SPEC §2) into
// normalised desired resources. Load walks the directory recursively, reads
// every *.yaml/*.yml document, decodes it strictly from the YAML node tree
// so that every problem is reported with its file, line, column and field
// path in one run, resolves ${env:}/${file:} secret references and $file
// section includes, and marks every sensitive value by JSON pointer so that
// later stages can redact it. Specs come out canonical (what encoding/json
// produces) with unset fields absent, because an absent field is unmanaged.
// A load with errors still returns every resource whose document was clean,
// so that a daemon can report drift without planning deletes. No error
// message ever quotes a secret: scalar values are quoted only where they
// cannot be sensitive. Manifests are untrusted input: every read goes
// through an os.Root, so $file stays inside the manifests directory and
// ${file:} inside the allowed secret directories whatever symlinks say;
// non-regular files are refused before they are opened, and every read is
// bounded by Limits (see files.go). WriteManifest is the reverse, used by import: it
// renders a live object as a manifest with every secret replaced by an
// ${env:} placeholder.
//
// This package holds what is common to every kind: the walk, confinement,
// limits, YAML and JSONC parsing, metadata and policy, secret references,
// errors and the schema's common part. What a kind's spec holds — its
// decoding, its part of the schema, how an import writes it — is its
// platform's manifest.Format (internal/platform/manifest), found through
// the registry or Options.Platforms; the platform decodes through
// manifest.Doc (spec.go), so every position and message stays the loader's.
package desired
