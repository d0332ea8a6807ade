package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	makeplatform "github.com/syncd/syncd/internal/platform/make"
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
type Placeholder struct {
	Env     string
	Pointer string
}

// Placeholders lists, sorted by pointer, the ${env:} placeholders that
// WriteManifest writes for l under name: every Make common value whose key
// names a secret, and every Patchworks variable marked secret (even when its
// value reads back null, since secrets are write-only there).
func Placeholders(l syncd.Live, name string) []Placeholder {
	var out []Placeholder
	switch l.Kind {
	case syncd.MakeConnection:
		if c, ok := l.Spec["common"].(map[string]any); ok {
			out = commonPlaceholders(c, name, "/common", nil, out)
		}
	case syncd.PatchworksConnector:
		vars, _ := l.Spec["variables"].(map[string]any)
		for _, k := range sortedKeys(vars) {
			if v, ok := vars[k].(map[string]any); ok && v["secret"] == true {
				out = append(out, Placeholder{Env: envFor(name, k), Pointer: syncd.Pointer("variables", k, "value")})
			}
		}
	}
	slices.SortFunc(out, func(a, b Placeholder) int { return strings.Compare(a.Pointer, b.Pointer) })
	return out
}

func commonPlaceholders(m map[string]any, name, ptr string, trail []string, out []Placeholder) []Placeholder {
	for _, k := range sortedKeys(m) {
		p := ptr + "/" + syncd.EscapePointerToken(k)
		t := append(slices.Clone(trail), k)
		if makeplatform.SecretName(k) {
			out = append(out, Placeholder{Env: envFor(name, t...), Pointer: p})
			continue
		}
		if sub, ok := m[k].(map[string]any); ok {
			out = commonPlaceholders(sub, name, p, t, out)
		}
	}
	return out
}

// envFor names the variable for a secret: SYNCD_<NAME>_<FIELD>.
func envFor(name string, field ...string) string {
	return "SYNCD_" + envPart(name) + "_" + envPart(strings.Join(field, "_"))
}

func envPart(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.Trim(b.String(), "_")
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
	var spec *yaml.Node
	switch l.Kind {
	case syncd.MakeConnection:
		spec = makeNode(l.Spec, secrets, opts.SectionFiles)
	case syncd.PatchworksConnector:
		spec = patchworksNode(l.Spec, secrets)
	default:
		return fmt.Errorf("import: unsupported kind %q", l.Kind)
	}
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
	spec := maps.Clone(l.Spec)
	switch l.Kind {
	case syncd.MakeConnection:
		delete(spec, "common")
		var keys []string
		for _, p := range ph {
			keys = append(keys, strings.TrimPrefix(p.Pointer, "/common/"))
		}
		*left = append(*left, "common is not managed: it holds secrets ("+strings.Join(keys, ", ")+
			") and is written as a whole; import with --secrets-as-env to manage it through environment variables.")
	case syncd.PatchworksConnector:
		vars, _ := spec["variables"].(map[string]any)
		vars = maps.Clone(vars)
		var keys []string
		for k, v := range vars {
			if vm, ok := v.(map[string]any); ok && vm["secret"] == true {
				delete(vars, k)
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		spec["variables"] = vars
		if len(vars) == 0 {
			delete(spec, "variables")
		}
		*left = append(*left, "Secret variables not managed (left as they are): "+strings.Join(keys, ", ")+
			"; import with --secrets-as-env to manage them through environment variables.")
	}
	l.Spec = spec
	return l
}

func makeNode(spec map[string]any, secrets map[string]string, files map[string]string) *yaml.Node {
	n := mapping()
	for _, f := range []string{"app", "type", "label", "connectedSystemName"} {
		if v, ok := spec[f]; ok {
			n.Content = append(n.Content, str(f), valueNode(v, "/"+f, secrets))
		}
	}
	if sections, ok := spec["sections"].(map[string]any); ok {
		sn := mapping()
		for _, s := range SectionNames {
			v, ok := sections[s]
			if !ok {
				continue
			}
			if f, ok := files[s]; ok && v != nil {
				sn.Content = append(sn.Content, str(s), mapping(FileKey, str(f)))
				continue
			}
			if v == nil {
				// A legacy empty section reads back as null (API-NOTES);
				// Make treats it as the empty value of its shape.
				v = map[string]any{}
				if sectionShape[s] == "array" {
					v = []any{}
				}
			}
			sn.Content = append(sn.Content, str(s), valueNode(v, "/sections/"+s, secrets))
		}
		if len(sn.Content) > 0 {
			n.Content = append(n.Content, str("sections"), sn)
		}
	}
	if c, ok := spec["common"].(map[string]any); ok {
		n.Content = append(n.Content, str("common"), valueNode(c, "/common", secrets))
	}
	return n
}

func patchworksNode(spec map[string]any, secrets map[string]string) *yaml.Node {
	n := mapping()
	for _, f := range patchworksFields {
		v, ok := spec[f]
		if !ok {
			continue
		}
		if f != "variables" {
			n.Content = append(n.Content, str(f), valueNode(v, "/"+f, secrets))
			continue
		}
		vars, _ := v.(map[string]any)
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, k := range sortedKeys(vars) {
			vm, _ := vars[k].(map[string]any)
			vn := mapping("key", str(k))
			base := syncd.Pointer("variables", k)
			for _, vf := range variableFields[1:] {
				fv, ok := vm[vf]
				ptr := base + "/" + vf
				if env, secret := secrets[ptr]; secret {
					vn.Content = append(vn.Content, str(vf), str("${env:"+env+"}"))
					continue
				}
				if !ok {
					continue
				}
				if vf == "pivot" {
					pm, _ := fv.(map[string]any)
					pn := mapping()
					for _, pf := range pivotFields {
						if pv, ok := pm[pf]; ok {
							pn.Content = append(pn.Content, str(pf), valueNode(pv, ptr+"/"+pf, secrets))
						}
					}
					pn.Style = yaml.FlowStyle
					vn.Content = append(vn.Content, str(vf), pn)
					continue
				}
				vn.Content = append(vn.Content, str(vf), valueNode(fv, ptr, secrets))
			}
			list.Content = append(list.Content, vn)
		}
		n.Content = append(n.Content, str("variables"), list)
	}
	return n
}

// valueNode renders a canonical JSON value, replacing secrets by pointer.
func valueNode(v any, ptr string, secrets map[string]string) *yaml.Node {
	if env, ok := secrets[ptr]; ok {
		return str("${env:" + env + "}")
	}
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(x), 10)}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}
	case string:
		return str(x)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, e := range x {
			n.Content = append(n.Content, valueNode(e, ptr+"/"+strconv.Itoa(i), secrets))
		}
		return n
	case map[string]any:
		n := mapping()
		for _, k := range sortedKeys(x) {
			n.Content = append(n.Content, str(k), valueNode(x[k], ptr+"/"+syncd.EscapePointerToken(k), secrets))
		}
		return n
	}
	// Not canonical: render its text rather than fail an import.
	return str(fmt.Sprint(v))
}

func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n"):
		n.Style = yaml.LiteralStyle
	case yaml11Bool[strings.ToLower(s)]:
		// Plain in YAML 1.2, but YAML 1.1 readers (and people) take them
		// for booleans.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

var yaml11Bool = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
