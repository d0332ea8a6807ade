package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// refKey and refIndex are the paths spelled out the plain way, string by
// string: Key and Index must give exactly these.
func refKey(p Path, k string) Path {
	f := k
	if !plainKey(k) {
		f = strconv.Quote(k)
		if p.Field != "" {
			f = "[" + f + "]"
		}
	} else if p.Field != "" {
		f = "." + k
	}
	q := p
	q.Field = p.Field + f
	if p.InSpec {
		q.Ptr = p.Ptr + "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
	}
	return q
}

func refIndex(p Path, i int, tok string) Path {
	q := p
	q.Field = fmt.Sprintf("%s[%d]", p.Field, i)
	if p.InSpec {
		q.Ptr = p.Ptr + "/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
	}
	return q
}

// TestPathSpellsFieldsAndPointers: every step, from the root or under
// others, in spec or not, with keys that need quoting or escaping.
func TestPathSpellsFieldsAndPointers(t *testing.T) {
	keys := []string{"spec", "x-api-key", "a.b", "", "a/b", "a~b", "~1", "ümlaut", `q"uote`, "a b", "$file", "A_9"}
	roots := []Path{{}, {InSpec: true}, {Field: "spec", InSpec: true}, {Field: "metadata"}}
	for _, root := range roots {
		for _, k := range keys {
			got, want := root.Key(k), refKey(root, k)
			if got != want {
				t.Errorf("%+v.Key(%q) = %+v, want %+v", root, k, got, want)
			}
			for _, k2 := range keys {
				if got, want := got.Key(k2), refKey(want, k2); got != want {
					t.Errorf("%+v.Key(%q).Key(%q) = %+v, want %+v", root, k, k2, got, want)
				}
			}
			for _, i := range []int{0, 7, 12345, -1} {
				for _, tok := range []string{strconv.Itoa(i), "key/with~", ""} {
					if got, want := got.Index(i, tok), refIndex(want, i, tok); got != want {
						t.Errorf("%+v.Key(%q).Index(%d, %q) = %+v, want %+v", root, k, i, tok, got, want)
					}
				}
			}
		}
	}
	// A child does not change its parent, and siblings do not share text.
	p := Path{Field: "spec", Ptr: "", InSpec: true}
	a, b := p.Key("a"), p.Key("b")
	if p.Field != "spec" || p.Ptr != "" || a.Field != "spec.a" || b.Field != "spec.b" || a.Ptr != "/a" || b.Ptr != "/b" {
		t.Errorf("parent %+v, children %+v %+v", p, a, b)
	}
}

func BenchmarkPathKey(b *testing.B) {
	p := Path{Field: "spec.sections", Ptr: "/sections", InSpec: true}
	for b.Loop() {
		_ = p.Key("api").Key("headers").Key("x-api-key").Index(0, "0")
	}
}

func BenchmarkPathKeyRef(b *testing.B) {
	p := Path{Field: "spec.sections", Ptr: "/sections", InSpec: true}
	for b.Loop() {
		_ = refIndex(refKey(refKey(refKey(p, "api"), "headers"), "x-api-key"), 0, "0")
	}
}

// TestPlainKeysAreWrittenBare: a key of letters, digits, _, $ and - is
// written as it is; any other character, the ones next to those ranges
// included, quotes it.
func TestPlainKeysAreWrittenBare(t *testing.T) {
	p := Path{Field: "x"}
	for _, k := range []string{"a", "z", "A", "Z", "0", "9", "_", "$", "-", "aZ09_$-"} {
		if got := p.Key(k).Field; got != "x."+k {
			t.Errorf("Key(%q) = %s, want x.%s", k, got, k)
		}
	}
	for _, k := range []string{"`", "{", "@", "[", "/", ":", "a.", " ", "é"} {
		if got, want := p.Key(k).Field, "x["+strconv.Quote(k)+"]"; got != want {
			t.Errorf("Key(%q) = %s, want %s", k, got, want)
		}
	}
}
