package syncd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPointers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens []string
		ptr    string
	}{
		{"plain", []string{"sections", "api"}, "/sections/api"},
		{"slash and tilde escaped", []string{"common", "a/b~c"}, "/common/a~1b~0c"},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pointer(tc.tokens...); got != tc.ptr {
				t.Errorf("Pointer = %q, want %q", got, tc.ptr)
			}
			if got := SplitPointer(tc.ptr); !cmp.Equal(got, tc.tokens) {
				t.Errorf("SplitPointer = %q, want %q", got, tc.tokens)
			}
		})
	}
}

func TestValueAt(t *testing.T) {
	spec := map[string]any{"variables": map[string]any{"a/b": map[string]any{"value": "v"}}, "list": []any{1.0, "x"}}
	for _, tc := range []struct {
		ptr  string
		want any
		ok   bool
	}{
		{"/variables/a~1b/value", "v", true},
		{"/list/1", "x", true},
		{"/list/2", nil, false},
		{"/list/-1", nil, false},
		{"/missing", nil, false},
	} {
		got, ok := ValueAt(spec, tc.ptr)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("ValueAt(%q) = %v, %v; want %v, %v", tc.ptr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSensitive(t *testing.T) {
	d := &Desired{Key: Key{Kind: MakeConnection, Name: "x"}, Sensitive: []string{"/sections/api/token"}}
	for ptr, want := range map[string]bool{
		"/common/clientSecret":    false, // a platform rule (Rules.Sensitive), not a loader mark
		"/sections/api/token":     true,
		"/sections/api/token/x":   true,
		"/sections/api/tokenizer": false,
		"/label":                  false,
	} {
		if got := d.IsSensitive(ptr); got != want {
			t.Errorf("IsSensitive(%q) = %v, want %v", ptr, got, want)
		}
	}
}

// commonRules is a test platform whose values under /common named like a
// secret are secret, identified by its label.
type commonRules struct{ Rules }

func (commonRules) Sensitive(ptr string, _ ...map[string]any) bool {
	rest, ok := strings.CutPrefix(ptr, "/common/")
	return ok && strings.Contains(strings.ToLower(rest), "secret")
}

func (commonRules) NaturalKey(spec map[string]any) string {
	s, _ := spec["label"].(string)
	return s
}

func TestSecretValuesByMarksAndRules(t *testing.T) {
	d := &Desired{
		Key: Key{Kind: "TestKind", Name: "x"},
		Spec: map[string]any{
			"label":    "plain label",
			"common":   map[string]any{"clientSecret": "hush-hush"},
			"sections": map[string]any{"api": map[string]any{"url": "https://resolved.example"}},
		},
		Sensitive: []string{"/sections/api/url"},
	}
	want := []string{"https://resolved.example", "hush-hush"}
	if diff := cmp.Diff(want, SecretValues(d, commonRules{})); diff != "" {
		t.Errorf("SecretValues (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1], SecretValues(d, nil)); diff != "" {
		t.Errorf("SecretValues without rules (-want +got):\n%s", diff)
	}
}

func TestSafeNaturalKeyHashesSensitiveParts(t *testing.T) {
	h := NewHasher([]byte("k"))
	d := &Desired{Key: Key{Kind: "TestKind", Name: "x"}, Spec: map[string]any{"label": "top-secret-label"}}
	if got := d.SafeNaturalKey(h, commonRules{}); got != "top-secret-label" {
		t.Errorf("clear key = %q", got)
	}
	d.Sensitive = []string{"/label"}
	got := d.SafeNaturalKey(h, commonRules{})
	if got != h.Hash("top-secret-label") || !NaturalKeyHashed(got) {
		t.Errorf("sensitive key = %q", got)
	}
	if d.Spec["label"] != "top-secret-label" {
		t.Error("SafeNaturalKey changed the spec")
	}
}

func TestHasherIsKeyedAndHidesValues(t *testing.T) {
	a, b := NewHasher([]byte("k1")), NewHasher([]byte("k2"))
	secret := "hunter2-secret"
	h := a.Hash(secret)
	if h == b.Hash(secret) {
		t.Error("hashes under different keys are equal")
	}
	if h != a.Hash(secret) || h == a.Hash("other") {
		t.Error("hash is not a function of the value")
	}
	if strings.Contains(h, secret) || !strings.HasPrefix(h, "hmac-sha256:") {
		t.Errorf("hash %q", h)
	}
	if a.Hash(map[string]any{"x": 1.0, "y": 2.0}) != a.Hash(map[string]any{"y": 2.0, "x": 1.0}) {
		t.Error("map order changes the hash")
	}
}

func TestParseKey(t *testing.T) {
	kinds := []Kind{MakeConnection, PatchworksConnector}
	k, err := ParseKey("MakeConnection/acme-oauth", kinds)
	if err != nil || k != (Key{MakeConnection, "acme-oauth"}) || k.String() != "MakeConnection/acme-oauth" {
		t.Fatalf("ParseKey = %v, %v", k, err)
	}
	for _, bad := range []string{"", "acme", "Nope/x", "MakeConnection/"} {
		if _, err := ParseKey(bad, kinds); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

// DigestHasher gives exactly what Hash gives for the hex form of the same
// digest, with any key, over many digests through one HMAC.
func TestDigestHasherIsHashOfTheHex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, key := range [][]byte{nil, []byte("k"), bytes.Repeat([]byte{0xfe}, 100)} {
		h := NewHasher(key)
		d := h.Digests()
		for range 200 {
			var sum [sha256.Size]byte
			for i := range sum {
				sum[i] = byte(r.Uint32())
			}
			if got, want := d.Hash(sum), h.Hash(hex.EncodeToString(sum[:])); got != want {
				t.Fatalf("key %x: Digests().Hash = %s, Hash of the hex = %s", key, got, want)
			}
		}
	}
	if a, b := NewHasher([]byte("a")).Digests().Hash([32]byte{}), NewHasher([]byte("b")).Digests().Hash([32]byte{}); a == b {
		t.Fatal("two keys give the same hash")
	}
}
