// Package manifest is what a platform sees of the manifest format: the
// document it decodes its spec from, the YAML it writes an import with, and
// the part of the JSON Schema it describes. The loader (internal/desired)
// owns everything common to every kind — the walk, confinement, limits,
// YAML and JSONC parsing, metadata, secret references and errors placed at
// file:line:col — and implements Doc; each platform implements Format in
// its own folder and knows nothing of the loader.
package manifest

import (
	"go.yaml.in/yaml/v4"
)

// FileKey is the key of a value written as {$file: path}: a JSONC file
// read relative to the manifest (Doc.IncludeJSONC).
const FileKey = "$file"

// Pair is one mapping entry.
type Pair struct {
	Name string
	K, V *yaml.Node
}

// Fields is a decoded mapping: its known entries, each name once, in
// document order, and the mapping node itself for "missing field"
// positions.
type Fields struct {
	N     *yaml.Node
	Pairs []Pair
}

// Get returns the entry name. An object has a few known fields: a scan
// finds one faster, and for less memory, than a map.
func (f Fields) Get(name string) (Pair, bool) {
	for _, pr := range f.Pairs {
		if pr.Name == name {
			return pr, true
		}
	}
	return Pair{}, false
}

// Text is a decoded string; Secret when it came from a secret reference.
type Text struct {
	S      string
	Secret bool
}

// Doc is one YAML document being decoded. Every problem is reported with
// Errorf at a node and marks the document bad; decoding goes on so that all
// are found. Secret references (${env:}, ${file:}) are resolved by Str and
// Value.
type Doc interface {
	Errorf(n *yaml.Node, p Path, format string, args ...any)
	// Object decodes a mapping with a fixed set of fields, reporting every
	// unknown one. ok is false when n is not a mapping.
	Object(n *yaml.Node, p Path, known ...string) (Fields, bool)
	// Require reports every listed field f lacks, at the key at (the
	// mapping itself when nil).
	Require(f Fields, p Path, at *yaml.Node, names ...string)
	// Str decodes a string; with nullable, null gives ok with null set.
	Str(n *yaml.Node, p Path, nullable bool) (t Text, null, ok bool)
	// IDString decodes a string that may be written as a YAML integer.
	IDString(n *yaml.Node, p Path, nullable bool) (t Text, null, ok bool)
	// Integer decodes an integer (as float64, like encoding/json).
	Integer(n *yaml.Node, p Path, nullable bool) (any, bool)
	Boolean(n *yaml.Node, p Path) (bool, bool)
	// Enum decodes a string that must be one of allowed.
	Enum(n *yaml.Node, p Path, allowed []string) (string, bool)
	// Value decodes any value into canonical JSON. With secretKey, an entry
	// whose key it accepts is marked sensitive.
	Value(n *yaml.Node, p Path, secretKey func(key string) bool) (any, bool)
	// MarkSensitive records the pointer ptr as secret.
	MarkSensitive(ptr string)
	// IncludeJSONC reads the {$file: path} mapping n: a JSONC file inside
	// the manifests directory, relative to the manifest. check says what is
	// wrong with its value ("" when nothing); the file's text is kept as the
	// resource's raw section rawKey.
	IncludeJSONC(n *yaml.Node, p Path, rawKey string, check func(v any) string) (any, bool)

	// Deref follows aliases; Describe names what a node is ("a mapping")
	// without its value; IsNull and IsStringTag classify scalars.
	Deref(n *yaml.Node) *yaml.Node
	Describe(n *yaml.Node) string
	IsNull(n *yaml.Node) bool
	IsStringTag(n *yaml.Node) bool
}

// Format is one kind's manifest format, implemented in its platform's
// folder.
type Format interface {
	// DecodeSpec decodes the document's spec (key is its key node, value its
	// value) and returns it with the node of the natural key, for duplicate
	// reports (nil when the key is unusable). A nil spec means it failed.
	DecodeSpec(d Doc, key, value *yaml.Node, p Path) (spec map[string]any, keyAt *yaml.Node)
	// DecodeExternalID decodes metadata.externalId.
	DecodeExternalID(d Doc, n *yaml.Node, p Path) (t Text, ok bool)
	// NaturalKeyField is the field a duplicate natural key is reported at
	// ("spec.label"); NaturalKeyTerm names the key in that error ("natural
	// key (app + label)"); NaturalKeyPointers are the spec fields it is
	// made of, so that a secret one is never quoted.
	NaturalKeyField() string
	NaturalKeyTerm() string
	NaturalKeyPointers() []string

	// Placeholders lists the ${env:} placeholders an import writes for
	// spec's secrets under metadata.name name (EnvFor names them).
	Placeholders(spec map[string]any, name string) []Placeholder
	// WithoutSecrets returns spec without the values ph stands for, and a
	// note for the head comment saying what it left out (by key).
	WithoutSecrets(spec map[string]any, ph []Placeholder) (map[string]any, string)
	// WriteSpec renders spec for an import: secrets maps a pointer to the
	// variable its placeholder names; files maps a part of spec to the
	// JSONC file (relative to the manifest) written as {$file: FILE}.
	WriteSpec(spec map[string]any, secrets, files map[string]string) *yaml.Node

	// IncludeParent is the spec field whose entries may be {$file: path}
	// includes ("" when none), for edits made in place.
	IncludeParent() string
	// KeyedList returns, for a spec field written as a list of mappings
	// keyed by one of their fields, that field and what an item is called
	// in errors ("variables" -> "key", "variable").
	KeyedList(field string) (keyField, noun string, ok bool)

	// SchemaDefinitions is the kind's part of the JSON Schema's
	// "definitions", as it appears there (entries indented four spaces, no
	// trailing comma); SchemaSpec is the definition its spec refers to.
	SchemaDefinitions() string
	SchemaSpec() string
}

// Placeholder is a secret an import writes as ${env:Env} instead of its
// value: the pointer into spec it stands for.
type Placeholder struct {
	Env     string
	Pointer string
}
