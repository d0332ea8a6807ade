package syncd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"maps"
	"strconv"
	"strings"
)

// Redacted is what a sensitive value is shown as in every output.
const Redacted = "(sensitive)"

// FieldChange is one changed field, already redacted: when Sensitive,
// Before and After are Redacted (or nil where the field is absent).
// Unreadable marks a write-only secret whose live value cannot be read back
// and whose last written value syncd holds no hash of: Before is then nil
// (unknown, not absent) and the value is written to be sure.
type FieldChange struct {
	Path       string `json:"path"`
	Before     any    `json:"before"`
	After      any    `json:"after"`
	Sensitive  bool   `json:"sensitive,omitempty"`
	Unreadable bool   `json:"unreadable,omitempty"`
}

// Hasher makes keyed hashes of values so that secrets can be compared and
// stored without being kept. The zero value is not usable; see NewHasher.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher keyed with key (HMAC-SHA256).
func NewHasher(key []byte) Hasher { return Hasher{key: append([]byte(nil), key...)} }

// Hash returns a hex HMAC of v's canonical JSON encoding.
func (h Hasher) Hash(v any) string {
	b, err := json.Marshal(v) // maps marshal with sorted keys: canonical
	if err != nil {
		b = []byte("unencodable")
	}
	m := hmac.New(sha256.New, h.key)
	m.Write(b)
	return hashedMark + hex.EncodeToString(m.Sum(nil))
}

// DigestHasher hashes SHA-256 digests exactly as Hash hashes their hex
// form, reusing one HMAC: for a caller that hashes thousands (a plan's
// fingerprints). Not safe for concurrent use.
type DigestHasher struct {
	mac     hash.Hash
	in, out []byte
}

// Digests returns a DigestHasher with h's key.
func (h Hasher) Digests() *DigestHasher {
	return &DigestHasher{mac: hmac.New(sha256.New, h.key)}
}

// Hash returns Hash(hex.EncodeToString(sum[:])): the JSON encoding of a
// hex string is the string in quotes, nothing in it needs escaping.
func (d *DigestHasher) Hash(sum [sha256.Size]byte) string {
	d.in = append(d.in[:0], '"')
	d.in = hex.AppendEncode(d.in, sum[:])
	d.in = append(d.in, '"')
	d.mac.Reset()
	d.mac.Write(d.in)
	d.out = d.mac.Sum(d.out[:0])
	return hashedMark + hex.EncodeToString(d.out)
}

// EscapePointerToken escapes one RFC 6901 reference token.
func EscapePointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// UnescapePointerToken undoes EscapePointerToken.
func UnescapePointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// Pointer joins tokens into a JSON pointer.
func Pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(EscapePointerToken(t))
	}
	return b.String()
}

// SplitPointer splits a JSON pointer into unescaped tokens.
func SplitPointer(ptr string) []string {
	if ptr == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		parts[i] = UnescapePointerToken(p)
	}
	return parts
}

// ValueAt resolves a JSON pointer in a canonical value.
func ValueAt(v any, ptr string) (any, bool) {
	for _, tok := range SplitPointer(ptr) {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// hashedMark starts a keyed hash (see Hasher.Hash).
const hashedMark = "hmac-sha256:"

// SafeNaturalKey is d's natural key (by its platform's rules) as it may be
// stored (the intents table) or shown (plans, plan files, errors): in
// clear, except that each part built from a sensitive value (a label or
// name that is a secret reference) is replaced by its keyed hash.
func (d *Desired) SafeNaturalKey(h Hasher, rules Rules) string {
	var spec map[string]any // a copy, made at the first sensitive part
	for k, v := range d.Spec {
		s, ok := v.(string)
		if !ok || !d.IsSensitive("/"+EscapePointerToken(k)) {
			continue
		}
		if spec == nil {
			spec = maps.Clone(d.Spec)
		}
		spec[k] = h.Hash(s)
	}
	if spec == nil {
		spec = d.Spec
	}
	return rules.NaturalKey(spec)
}

// NaturalKeyHashed reports whether a stored natural key holds a keyed hash
// in place of a sensitive part, so that it cannot be looked up as it is.
func NaturalKeyHashed(nk string) bool { return strings.Contains(nk, hashedMark) }
