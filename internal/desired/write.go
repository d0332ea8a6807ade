package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform/manifest"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// NameFor derives a valid metadata.name from a natural key: lowercase,
// runs of other characters become '-', and a name cut to MaxNameLength ends
// in a short hash of the whole key so that long keys stay distinct.
func NameFor(naturalKey string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(naturalKey) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	if len(name) > MaxNameLength {
		sum := sha256.Sum256([]byte(naturalKey))
		suffix := "-" + hex.EncodeToString(sum[:4])
		name = strings.TrimRight(name[:MaxNameLength-len(suffix)], "-") + suffix
	}
	if name == "" {
		sum := sha256.Sum256([]byte(naturalKey))
		name = "imported-" + hex.EncodeToString(sum[:4])
	}
	return name
}

// Placeholder is a secret that WriteManifest wrote as ${env:Env} instead of
// its value: the pointer into spec it stands for.
type Placeholder = manifest.Placeholder

// Placeholders lists, sorted by pointer, the ${env:} placeholders that
// WriteManifest writes for l under name: what its platform's format calls
// secret (Make: every common value whose key names a secret; Patchworks:
// every variable marked secret, even when its value reads back null, since
// secrets are write-only there).
func Placeholders(l syncd.Live, name string) []Placeholder {
	p, ok := registry.For(l.Kind)
	if !ok {
		return nil
	}
	out := p.Placeholders(l.Spec, name)
	slices.SortFunc(out, func(a, b Placeholder) int { return strings.Compare(a.Pointer, b.Pointer) })
	return out
}

// WriteOptions tune WriteManifestWith.
type WriteOptions struct {
	// SchemaRef, when set, is written as the first line,
	// "# yaml-language-server: $schema=SchemaRef", for editors.
	SchemaRef string
	// SectionFiles maps a Make section to the JSONC file (relative to the
	// manifest) that holds its live text: the section is written as
	// {$file: FILE}. The caller writes the files.
	SectionFiles map[string]string
	// SecretsAsEnv writes every secret as an ${env:} placeholder (see
	// Placeholders). Without it a secret stays out of the manifest, so
	// that loading it needs no variable: the Patchworks secret variables
	// are left out (undeclared variables are kept as they are), and so is
	// Make common data holding a secret (common is written as a whole, so
	// it is not managed at all then). The head comment says what was left
	// out.
	SecretsAsEnv bool
}

// WriteManifest writes l as WriteManifestWith does with secrets as
// ${env:} placeholders and every section inline.
func WriteManifest(w io.Writer, l syncd.Live, name string) error {
	return WriteManifestWith(w, l, name, WriteOptions{SecretsAsEnv: true})
}

// WriteManifestWith writes one apiVersion syncd/v1 document for the live
// object l under metadata.name name, bound to it by metadata.externalId.
// Only fields a manifest may set are written; a secret is never written as
// its value. With the placeholders' variables set, Load reads the output
// back to l's spec (less what opts leaves out).
func WriteManifestWith(w io.Writer, l syncd.Live, name string, opts WriteOptions) error {
	if !ValidName(name) {
		return fmt.Errorf("import: %q is not a valid metadata.name", name)
	}
	secrets := map[string]string{}
	ph := Placeholders(l, name)
	var left []string // what was left out, for the head comment
	if !opts.SecretsAsEnv && len(ph) > 0 {
		l = withoutSecrets(l, ph, &left)
		ph = nil
	}
	for _, p := range ph {
		secrets[p.Pointer] = p.Env
	}
	pl, ok := registry.For(l.Kind)
	if !ok {
		return fmt.Errorf("import: unsupported kind %q", l.Kind)
	}
	spec := pl.WriteSpec(l.Spec, secrets, opts.SectionFiles)
	meta := mapping("name", str(name))
	if l.RemoteID != "" {
		meta.Content = append(meta.Content, str("externalId"), str(l.RemoteID))
	}
	doc := mapping(
		"apiVersion", str(syncd.APIVersion),
		"kind", str(string(l.Kind)),
		"metadata", meta,
		"spec", spec,
	)
	var head strings.Builder
	fmt.Fprintf(&head, "Imported by syncd from %s %s.", l.Kind, l.RemoteID)
	if len(ph) > 0 {
		head.WriteString("\nSecrets are not exported: set these variables before loading it:")
		for _, p := range ph {
			fmt.Fprintf(&head, "\n  %s  (spec%s)", p.Env, p.Pointer)
		}
	}
	for _, s := range left {
		head.WriteString("\n" + s)
	}
	doc.HeadComment = head.String()
	if opts.SchemaRef != "" {
		if _, err := fmt.Fprintf(w, "# yaml-language-server: $schema=%s\n", opts.SchemaRef); err != nil {
			return fmt.Errorf("import: write %s: %w", name, err)
		}
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		return fmt.Errorf("import: write %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("import: write %s: %w", name, err)
	}
	return nil
}

// withoutSecrets returns l without the values ph stands for, and says in
// left what it removed (by key, never by value).
func withoutSecrets(l syncd.Live, ph []Placeholder, left *[]string) syncd.Live {
	p, ok := registry.For(l.Kind)
	if !ok {
		return l
	}
	spec, note := p.WithoutSecrets(l.Spec, ph)
	*left = append(*left, note)
	l.Spec = spec
	return l
}

// The YAML writing helpers are the platforms' too (manifest).
var (
	valueNode  = manifest.ValueNode
	str        = manifest.Str
	mapping    = manifest.Mapping
	sortedKeys = manifest.SortedKeys
)
