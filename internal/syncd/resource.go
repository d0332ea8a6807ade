package syncd

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is a manifest kind. Each platform declares its own; which kinds are
// supported is the platform registry's list (internal/platform/registry),
// which the domain does not hold.
type Kind string

// APIVersion is the only manifest apiVersion syncd accepts.
const APIVersion = "syncd/v1"

// Key is a resource's identity: kind/metadata.name.
type Key struct {
	Kind Kind
	Name string
}

func (k Key) String() string { return string(k.Kind) + "/" + k.Name }

// Compare orders keys by kind, then name.
func (k Key) Compare(o Key) int {
	if c := strings.Compare(string(k.Kind), string(o.Kind)); c != 0 {
		return c
	}
	return strings.Compare(k.Name, o.Name)
}

// ParseKey parses "Kind/name" with Kind one of kinds (the registry's).
func ParseKey(s string, kinds []Kind) (Key, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || name == "" || !slices.Contains(kinds, Kind(kind)) {
		return Key{}, fmt.Errorf("resource %q: want KIND/NAME with KIND one of %s", s, KindList(kinds, ", "))
	}
	return Key{Kind: Kind(kind), Name: name}, nil
}

// KindList joins kinds with sep, for messages.
func KindList(kinds []Kind, sep string) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, sep)
}

// Mode is a run mode or a per-resource policy override.
type Mode string

const (
	ModeEnforce Mode = "enforce" // per-resource: follow the run mode
	ModeApply   Mode = "apply"   // run mode: converge
	ModeReport  Mode = "report"  // never write
)

// Policy is a manifest's optional policy block.
type Policy struct {
	// Mode is "" (follow the run), ModeEnforce, or ModeReport.
	Mode Mode
	// Protect forbids delete and replace.
	Protect bool
	// Ignore lists RFC 6901 JSON pointers into spec that are not diffed.
	Ignore []string
}

// Source is where a document was read from.
type Source struct {
	File string // path as given to the loader, slash-separated
	Line int    // line of the document's first key
}

func (s Source) String() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Desired is one resource as the manifests describe it.
//
// Spec is canonical (see the package doc). Fields the manifest does not set
// are absent from Spec: they are not managed.
//
// Shape per kind:
//   - MakeConnection: {"app", "type", "label", "connectedSystemName"?,
//     "sections"?: {name: value}, "common"?: {...}}
//   - PatchworksConnector: the API's connector fields, with "variables" as
//     an object keyed by variable key (so order is never drift and paths read
//     /variables/<key>/value); each entry keeps its "key" field too.
type Desired struct {
	Key        Key
	ExternalID string
	Labels     map[string]string
	Policy     Policy
	Spec       map[string]any
	// Sensitive lists, sorted, the JSON pointers into Spec whose values are
	// secret: resolved ${env:}/${file:} references, common keys whose name
	// says secret, secret variables' values.
	Sensitive []string
	// RawSections holds the original JSONC text of Make sections that came
	// from a $file, keyed by section name; it is what gets written to Make
	// so that comments survive.
	RawSections map[string]string
	Source      Source
}

// IsSensitive reports whether the loader marked the value at ptr (or any
// parent of it) secret. What a platform's rules call secret (a Make common
// key named like a secret, a Patchworks secret variable) is its
// Rules.Sensitive; Secrets applies both.
func (d *Desired) IsSensitive(ptr string) bool {
	for _, s := range d.Sensitive {
		if ptr == s || strings.HasPrefix(ptr, s+"/") {
			return true
		}
	}
	return false
}

// Live is a remote object as read from a platform. Spec has the same shape
// as Desired.Spec but holds only what was fetched: for Make, the sections
// and common the manifest declares.
type Live struct {
	Kind     Kind
	RemoteID string // Make connection name; Patchworks connector id
	Spec     map[string]any
}

// Binding is an inventory row: a remote object syncd created or adopted.
type Binding struct {
	Key      Key
	RemoteID string
	// Hashes maps a JSON pointer to the keyed hash of the value last
	// applied there. Used for write-only secrets, which read back as null.
	Hashes map[string]string
}

// RateLimitUnits are the values of a Patchworks connector's rate_limit_unit.
// ASSUMED (API-NOTES): the vendor's docs mark the field as an enum without
// listing its values. The loader and the client use this list; the emulator
// keeps its own copy on purpose (it checks the wire format independently),
// so a change here must be made there too.
var RateLimitUnits = []string{"second", "minute", "hour", "day"}
