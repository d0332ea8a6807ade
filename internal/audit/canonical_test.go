package audit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

// TestCanonicalChanges: the fast path (plain values encoded once) gives
// exactly what verify recomputes from jsonb (decode, encode again).
func TestCanonicalChanges(t *testing.T) {
	type custom struct {
		Z int    `json:"z"`
		A string `json:"a"`
	}
	tests := []struct {
		name    string
		changes []syncd.FieldChange
	}{
		{"strings", []syncd.FieldChange{{Path: "/label", Before: "a<b>&c", After: "\u2028é"}}},
		{"nested plain", []syncd.FieldChange{{Path: "/s", Before: map[string]any{"b": []any{1.5, nil, true}, "a": 1e21}, After: nil}}},
		{"sensitive", []syncd.FieldChange{{Path: "/common/token", Before: "raw", After: nil, Sensitive: true}}},
		{"go ints and structs", []syncd.FieldChange{{Path: "/x", Before: 3, After: custom{Z: 1, A: "x"}}}},
		{"nul", []syncd.FieldChange{{Path: "/n\x00", Before: "a\x00b", After: []string{"\x00"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonicalChanges(tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			again, err := canonicalJSON(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(again), string(got)); diff != "" {
				t.Errorf("not canonical (-recomputed +stored)\n%s", diff)
			}
			var back []syncd.FieldChange
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			for _, c := range back {
				if c.Sensitive && (c.Before != nil && c.Before != syncd.Redacted || c.After != nil && c.After != syncd.Redacted) {
					t.Errorf("sensitive change stored unredacted: %+v", c)
				}
			}
		})
	}
}

// TestAppendSimpleJSON: what the shortcut writes is byte for byte what
// encoding/json writes, and everything it declines is left to it.
func TestAppendSimpleJSON(t *testing.T) {
	values := []any{nil, true, false, "", "plain text 123", "a<b", "x>y", "a&b", `q"uote`, `back\slash`,
		"tab\there", "nl\n", "\x7f", "é", "\u2028", "\xff", 1.5, map[string]any{"a": "b"},
		// Each character the shortcut declines, alone: nothing else in the
		// string sends it to encoding/json.
		`"`, `\`, "<", ">", "&", "\n", "\x1f", "\x7f", "\x80", " ", "~"}
	for _, v := range values {
		var buf bytes.Buffer
		ok := appendSimpleJSON(&buf, v)
		if !ok {
			if buf.Len() != 0 {
				t.Errorf("%#v: declined but wrote %q", v, buf.String())
			}
			continue
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), buf.String()); diff != "" {
			t.Errorf("%#v (-encoding/json +shortcut):\n%s", v, diff)
		}
	}
	// Every byte alone: what the shortcut takes, it writes as encoding/json does.
	for c := range 256 {
		v := string([]byte{byte(c)})
		var buf bytes.Buffer
		if !appendSimpleJSON(&buf, v) {
			continue
		}
		if want, _ := json.Marshal(v); string(want) != buf.String() {
			t.Errorf("byte %#x: shortcut wrote %q, encoding/json %q", c, buf.String(), want)
		}
	}
	for _, v := range []any{"a<b", "\xff", "nl\n", "\x7f", 1.5, `"`, `\`, "<", ">", "&", "\n", "\x1f", "\x80"} {
		if appendSimpleJSON(&bytes.Buffer{}, v) {
			t.Errorf("%#v taken by the shortcut, which must leave it to encoding/json", v)
		}
	}
}

// TestChangesArena: changes encoded one after the other into one arena are
// each what they are alone, including around values that take the slow
// path (which gives its bytes back to the arena) and a failed encoding.
func TestChangesArena(t *testing.T) {
	batches := [][]syncd.FieldChange{
		{{Path: "/label", Before: "a", After: "b"}},
		{{Path: "/x", Before: 3, After: map[string]int{"z": 1, "a": 2}}},
		{{Path: "/n", Before: "a\x00b", After: nil}},
		{{Path: "/bad", Before: func() {}, After: nil}},
		nil,
		{{Path: "/s", Before: "<tag>", After: true, Sensitive: true}},
		{{Path: "/last", Before: nil, After: "plain"}},
	}
	a := newChangesArena(2) // small: the arena grows on the way
	var got [][]byte
	for _, ch := range batches {
		b, err := a.canonicalChanges(ch)
		if err != nil {
			got = append(got, []byte("error"))
			continue
		}
		got = append(got, b)
	}
	for i, ch := range batches {
		want, err := canonicalChanges(ch)
		if err != nil {
			want = []byte("error")
		}
		if diff := cmp.Diff(string(want), string(got[i])); diff != "" {
			t.Errorf("batch %d (-alone +in the arena):\n%s", i, diff)
		}
	}
}
