package audit

import (
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
