package syncd

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShareDesiredKeepsTheValue(t *testing.T) {
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, live, desired string
		whole               bool // the result is desired's value itself
	}{
		{"equal object", `{"a":1,"b":{"c":[1,"x",true,null]}}`, `{"a":1,"b":{"c":[1,"x",true,null]}}`, true},
		{"extra live key", `{"a":1,"b":2}`, `{"a":1}`, false},
		{"missing live key", `{"a":1}`, `{"a":1,"b":2}`, false},
		{"one field differs", `{"a":1,"b":{"c":"x"}}`, `{"a":2,"b":{"c":"x"}}`, false},
		{"number vs string", `{"a":1}`, `{"a":"1"}`, false},
		{"longer list", `[1,2,3]`, `[1,2]`, false},
		{"shorter list", `[1]`, `[1,2]`, false},
		{"empty object", `{}`, `{}`, true},
		{"empty list", `[]`, `[]`, true},
		{"null vs object", `null`, `{}`, false},
		{"object vs list", `{}`, `[]`, false},
		{"bool differs", `true`, `false`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, desired := decode(tt.live), decode(tt.desired)
			want := decode(tt.live) // an untouched copy
			desiredBefore := decode(tt.desired)
			got := ShareDesired(live, desired)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("value changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(desiredBefore, desired); diff != "" {
				t.Errorf("desired changed (-want +got):\n%s", diff)
			}
			if whole := sameRef(got, desired); whole != tt.whole {
				t.Errorf("result is desired's own value: %v, want %v", whole, tt.whole)
			}
		})
	}
}

// A part equal to the manifest's is the manifest's own even when its
// neighbour differs: that is where the memory goes.
func TestShareDesiredSharesEqualParts(t *testing.T) {
	desired := map[string]any{"api": map[string]any{"url": "u"}, "label": "new"}
	live := map[string]any{"api": map[string]any{"url": "u"}, "label": "old"}
	got := ShareDesired(live, desired).(map[string]any)
	if !sameRef(got["api"], desired["api"]) {
		t.Error("the equal section was not shared")
	}
	if got["label"] != "old" {
		t.Errorf("label = %v, want old", got["label"])
	}
}

// Values that compare equal in Go but encode differently in JSON are not
// shared: nil maps and slices (null), and -0.
func TestShareDesiredKeepsWhatJSONTellsApart(t *testing.T) {
	tests := []struct {
		name          string
		live, desired any
	}{
		{"nil map vs empty", map[string]any(nil), map[string]any{}},
		{"empty map vs nil", map[string]any{}, map[string]any(nil)},
		{"nil slice vs empty", []any(nil), []any{}},
		{"negative zero", math.Copysign(0, -1), 0.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := json.Marshal(tt.live)
			after, _ := json.Marshal(ShareDesired(tt.live, tt.desired))
			if string(before) != string(after) {
				t.Errorf("JSON %s became %s", before, after)
			}
		})
	}
}

// sameRef reports whether a is b itself: the same map or slice, or an equal
// scalar.
func sameRef(a, b any) bool {
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != rb.Kind() {
		return false
	}
	switch ra.Kind() {
	case reflect.Map, reflect.Slice:
		return ra.Pointer() == rb.Pointer() && ra.Len() == rb.Len()
	}
	return a == b
}
