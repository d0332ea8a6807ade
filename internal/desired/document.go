package desired

import (
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/manifest"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// MaxNameLength is the longest metadata.name accepted.
const MaxNameLength = 63

var namePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidName reports whether s is a valid metadata.name.
func ValidName(s string) bool { return len(s) <= MaxNameLength && namePattern.MatchString(s) }

// PolicyModes are the values of policy.mode.
var PolicyModes = []string{string(syncd.ModeEnforce), string(syncd.ModeReport)}

// document decodes one YAML document. It returns nil for an empty one.
func (l *loader) document(file, dir string, doc *yaml.Node) *docResult {
	if len(doc.Content) == 0 {
		return nil
	}
	root := deref(doc.Content[0])
	if root == nil || isNull(root) {
		return nil // an empty document between two ---
	}
	d := &docState{l: l, file: file, dir: dir}
	r := &docResult{file: file}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, path{}, "a manifest document must be a mapping with apiVersion, kind, metadata and spec, got %s", describe(root))
		return r.done(d)
	}
	top, ok := d.object(root, path{}, "apiVersion", "kind", "metadata", "policy", "spec")
	if !ok {
		return r.done(d)
	}
	d.require(top, path{}, nil, "apiVersion", "kind", "metadata", "spec")

	if pr, ok := top.Get("apiVersion"); ok {
		if t, _, ok := d.str(pr.V, path{field: "apiVersion"}, false); ok && t.s != syncd.APIVersion {
			d.errorf(deref(pr.V), path{field: "apiVersion"}, "unsupported apiVersion %q (want %s)", t.s, syncd.APIVersion)
		}
	}
	var kind syncd.Kind
	if pr, ok := top.Get("kind"); ok {
		if t, _, ok := d.str(pr.V, path{field: "kind"}, false); ok {
			if _, ok := d.l.platform(syncd.Kind(t.s)); ok {
				kind = syncd.Kind(t.s)
			} else {
				d.errorf(deref(pr.V), path{field: "kind"}, "unknown kind %q (want %s)", t.s, d.l.kindNames())
			}
		}
	}

	des := &syncd.Desired{Source: syncd.Source{File: file, Line: root.Line}}
	des.Key.Kind = kind
	if pr, ok := top.Get("metadata"); ok {
		r.nameAt = docPosOf(d.metadata(pr, kind, des))
	}
	if pr, ok := top.Get("policy"); ok {
		d.policy(pr.V, des)
	}
	if pr, ok := top.Get("spec"); ok && kind != "" {
		sp := path{field: "spec", inSpec: true}
		var keyAt *yaml.Node
		des.Spec, keyAt = d.l.format(kind).DecodeSpec(specDoc{d}, pr.K, pr.V, sp.spec())
		r.keyAt = docPosOf(keyAt)
	}
	if kind == "" || des.Key.Name == "" || des.Spec == nil {
		r.nameAt, r.keyAt = nil, nil
		return r.done(d)
	}
	if r.keyAt != nil {
		for _, f := range d.l.format(kind).NaturalKeyPointers() {
			if slices.Contains(d.sensitive, f) {
				r.keySens = true
			}
		}
	}
	slices.Sort(d.sensitive)
	des.Sensitive = slices.Compact(d.sensitive)
	if len(d.raw) > 0 {
		des.RawSections = d.raw
	}
	r.d = des
	return r.done(d)
}

func (r *docResult) done(d *docState) *docResult {
	r.bad = r.bad || d.bad
	return r
}

// platformList is Options.Platforms, or the registry's (looked up once).
func (l *loader) platformList() []platform.Platform {
	if l.platforms == nil {
		l.platforms = registry.All()
	}
	return l.platforms
}

// platform returns the platform of kind k.
func (l *loader) platform(k syncd.Kind) (platform.Platform, bool) {
	for _, p := range l.platformList() {
		if p.Kind() == k {
			return p, true
		}
	}
	return nil, false
}

func (l *loader) kindNames() string {
	var s []string
	for _, p := range l.platformList() {
		s = append(s, string(p.Kind()))
	}
	return strings.Join(s, " or ")
}

// format is kind's manifest format; kind is one the loader knows (the
// document's kind was checked against its platforms).
func (l *loader) format(kind syncd.Kind) manifest.Format {
	p, _ := l.platform(kind)
	return p
}

// includeParent and keyedList are the registry's answers for kind, for
// edits; a kind it does not know has neither.
func includeParent(kind syncd.Kind) string {
	if p, ok := registry.For(kind); ok {
		return p.IncludeParent()
	}
	return ""
}

func keyedList(kind syncd.Kind, field string) (keyField, noun string, ok bool) {
	if p, ok := registry.For(kind); ok {
		return p.KeyedList(field)
	}
	return "", "", false
}

// metadata fills des's name, externalId and labels and returns the name's
// node for duplicate reports (nil when the name is unusable).
func (d *docState) metadata(at pair, kind syncd.Kind, des *syncd.Desired) *yaml.Node {
	p := path{field: "metadata"}
	f, ok := d.object(at.V, p, "name", "externalId", "labels")
	if !ok {
		return nil
	}
	d.require(f, p, at.K, "name")
	var nameAt *yaml.Node
	if pr, ok := f.Get("name"); ok {
		np := p.key("name")
		if t, _, ok := d.str(pr.V, np, false); ok {
			switch {
			case t.s == "":
				d.errorf(deref(pr.V), np, "must not be empty")
			case len(t.s) > MaxNameLength:
				d.errorf(deref(pr.V), np, "%q is longer than %d characters", t.s, MaxNameLength)
			case !namePattern.MatchString(t.s):
				d.errorf(deref(pr.V), np, "%q is not a valid name: use lowercase letters, digits and '-', starting and ending with a letter or digit", t.s)
			default:
				des.Key.Name = t.s
				nameAt = deref(pr.V)
			}
		}
	}
	if pr, ok := f.Get("externalId"); ok {
		ep := p.key("externalId")
		var t manifest.Text
		var ok bool
		if kind != "" {
			t, ok = d.l.format(kind).DecodeExternalID(specDoc{d}, pr.V, ep.spec())
		} else {
			var tt text
			tt, _, ok = d.str(pr.V, ep, false)
			t = textOf(tt)
		}
		if ok {
			if t.S == "" {
				d.errorf(deref(pr.V), ep, "must not be empty (leave it out instead)")
			}
			des.ExternalID = t.S
		}
	}
	if pr, ok := f.Get("labels"); ok {
		lp := p.key("labels")
		ln := deref(pr.V)
		if ln == nil || ln.Kind != yaml.MappingNode {
			d.errorf(ln, lp, "must be a mapping of strings, got %s", describe(ln))
		} else {
			labels := map[string]string{}
			for _, e := range d.pairs(ln, lp, 0) {
				if t, _, ok := d.str(e.V, lp.key(e.Name), false); ok {
					labels[e.Name] = t.s
				}
			}
			if len(labels) > 0 {
				des.Labels = labels
			}
		}
	}
	return nameAt
}

func (d *docState) policy(n *yaml.Node, des *syncd.Desired) {
	p := path{field: "policy"}
	if isNull(n) {
		return
	}
	f, ok := d.object(n, p, "mode", "protect", "ignore")
	if !ok {
		return
	}
	if pr, ok := f.Get("mode"); ok {
		if m, ok := d.enum(pr.V, p.key("mode"), PolicyModes); ok {
			des.Policy.Mode = syncd.Mode(m)
		}
	}
	if pr, ok := f.Get("protect"); ok {
		if b, ok := d.boolean(pr.V, p.key("protect")); ok {
			des.Policy.Protect = b
		}
	}
	if pr, ok := f.Get("ignore"); ok {
		ip := p.key("ignore")
		ln := deref(pr.V)
		if ln == nil || ln.Kind != yaml.SequenceNode {
			d.errorf(ln, ip, "must be a list of JSON pointers, got %s", describe(ln))
			return
		}
		for i, e := range ln.Content {
			ep := ip.index(i, "")
			t, _, ok := d.str(e, ep, false)
			if !ok {
				continue
			}
			if msg := pointerProblem(t.s); msg != "" {
				d.errorf(deref(e), ep, "%q is not a JSON pointer (RFC 6901): %s", t.s, msg)
				continue
			}
			des.Policy.Ignore = append(des.Policy.Ignore, t.s)
		}
	}
}

// pointerProblem says what is wrong with an RFC 6901 pointer into spec, or "".
func pointerProblem(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "it must start with /"
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && (i+1 == len(s) || (s[i+1] != '0' && s[i+1] != '1')) {
			return "~ must be followed by 0 or 1"
		}
	}
	return ""
}
