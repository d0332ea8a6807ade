package planner

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"

	"github.com/syncd/syncd/internal/syncd"
)

// DesiredHash is a keyed hash of everything in d that decides what would be
// written: the spec, the raw $file text of sections (so a comment-only edit
// counts), the externalId and the policy. A saved plan is refused for a
// resource whose DesiredHash moved. Secrets are inside the hash, which is
// keyed, so it reveals nothing about them.
func DesiredHash(h syncd.Hasher, d *syncd.Desired) string {
	var e encoder
	return e.desiredHash(h, d)
}

func (e *encoder) desiredHash(h syncd.Hasher, d *syncd.Desired) string {
	if d == nil {
		return ""
	}
	e.reset()
	e.value(d.Spec)
	e.str(d.ExternalID)
	e.str(string(d.Policy.Mode))
	e.bool(d.Policy.Protect)
	e.strs(d.Policy.Ignore)
	keys := make([]string, 0, len(d.RawSections))
	for k := range d.RawSections {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.len(len(keys))
	for _, k := range keys {
		e.str(k)
		e.str(d.RawSections[k])
	}
	return e.keyed(h)
}

// LiveFingerprint is a keyed hash of the live object as observed, "" for
// none. A saved plan is refused for an object whose fingerprint moved.
func LiveFingerprint(h syncd.Hasher, l *syncd.Live) string {
	var e encoder
	return e.liveFingerprint(h, l)
}

func (e *encoder) liveFingerprint(h syncd.Hasher, l *syncd.Live) string {
	if l == nil {
		return ""
	}
	e.reset()
	e.value(l.Spec)
	return e.keyed(h)
}

// encoder writes a canonical, unambiguous binary form of a JSON value
// (type tags, lengths, sorted keys, numbers as float64). Hashing it is
// several times cheaper than hashing encoding/json's output, which
// dominates the cost of planning otherwise.
type encoder struct {
	buf  []byte
	keys []string // scratch for sorting map keys, used as a stack
	mac  *syncd.DigestHasher
}

// reset keeps the buffers, so that one encoder hashes a whole plan with
// few allocations.
func (e *encoder) reset() {
	e.buf = e.buf[:0]
	e.keys = e.keys[:0]
}

func (e *encoder) len(n int) { e.buf = binary.AppendUvarint(e.buf, uint64(n)) }

func (e *encoder) str(s string) {
	e.len(len(s))
	e.buf = append(e.buf, s...)
}

func (e *encoder) strs(ss []string) {
	e.len(len(ss))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 't')
	} else {
		e.buf = append(e.buf, 'f')
	}
}

func (e *encoder) value(v any) {
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, 'n')
	case bool:
		e.bool(t)
	case string:
		e.buf = append(e.buf, 's')
		e.str(t)
	case map[string]any:
		e.buf = append(e.buf, 'o')
		e.len(len(t))
		base := len(e.keys)
		for k := range t {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys[base:])
		for i := base; i < base+len(t); i++ {
			k := e.keys[i]
			e.str(k)
			e.value(t[k])
		}
		e.keys = e.keys[:base]
	case []any:
		e.buf = append(e.buf, 'a')
		e.len(len(t))
		for _, c := range t {
			e.value(c)
		}
	default:
		f, ok := toFloat(v)
		if !ok {
			e.buf = append(e.buf, '?')
			return
		}
		if f == 0 {
			f = 0 // -0 and 0 are the same JSON number
		}
		e.buf = append(e.buf, 'd')
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(f))
	}
}

// keyed returns the keyed hash of the encoding. The unkeyed digest never
// leaves this function.
// An encoder is only ever used with one Hasher, whose HMAC it keeps.
func (e *encoder) keyed(h syncd.Hasher) string {
	if e.mac == nil {
		e.mac = h.Digests()
	}
	return e.mac.Hash(sha256.Sum256(e.buf))
}
