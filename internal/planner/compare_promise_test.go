package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

// TestLooseSecretIsNoDrift: a secret compared loosely (a Patchworks
// top-level field) that the API reads back as a number while the manifest
// holds its decimal string means the same value, so it is no drift, with
// or without an ignore policy on the resource.
func TestLooseSecretIsNoDrift(t *testing.T) {
	for _, ignore := range [][]string{nil, {"/timezone"}} {
		d := pwDesired("a", "A", "")
		d.Spec["port"] = "42"
		d.Sensitive = []string{"/port"}
		d.Policy.Ignore = ignore
		l := pwLive("1", "A")
		l.Spec["port"] = 42.0
		p := Build(Input{Rules: testRules, Hasher: testHasher, Desired: []*syncd.Desired{d},
			Live: []syncd.Live{l}, Bindings: bindings("a", "1")})
		if got := p.Changes[0]; got.Action != ActionNoop || len(got.Fields) != 0 {
			t.Errorf("ignore %q: got %s with fields %+v, want noop", ignore, got.Action, got.Fields)
		}
	}
}

// TestMarkedSecretInsideNewValueIsRedacted: a value the manifest marks
// secret (by ${env:}, say) inside an object the live side lacks is shown
// redacted when the object is reported whole.
func TestMarkedSecretInsideNewValueIsRedacted(t *testing.T) {
	d := pwDesired("a", "A", "")
	d.Spec["cfg"] = map[string]any{"secret": "s3cret", "x": 1.0}
	d.Sensitive = []string{"/cfg/secret"}
	p := Build(Input{Rules: testRules, Hasher: testHasher, Desired: []*syncd.Desired{d},
		Live: []syncd.Live{pwLive("1", "A")}, Bindings: bindings("a", "1")})
	want := []syncd.FieldChange{{Path: "/cfg", After: map[string]any{"secret": syncd.Redacted, "x": 1.0}}}
	if diff := cmp.Diff(want, p.Changes[0].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestNullKeyAddedOrDroppedIsListed: inside an object, a key one side has
// with a null value and the other side lacks is a difference of its own,
// listed next to the changed values (only equal updates are dropped).
func TestNullKeyAddedOrDroppedIsListed(t *testing.T) {
	d := pwDesired("a", "A", "")
	d.Spec["cfg"] = map[string]any{"added": nil, "x": 1.0}
	l := pwLive("1", "A")
	l.Spec["cfg"] = map[string]any{"dropped": nil, "x": 2.0}
	p := Build(Input{Rules: testRules, Hasher: testHasher, Desired: []*syncd.Desired{d},
		Live: []syncd.Live{l}, Bindings: bindings("a", "1")})
	want := []syncd.FieldChange{{Path: "/cfg/added"}, {Path: "/cfg/dropped"}, {Path: "/cfg/x", Before: 2.0, After: 1.0}}
	if diff := cmp.Diff(want, p.Changes[0].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestIgnoredPathsNeverDrift: an ignored path inside a unit never makes a
// difference, whether the live side alone has it (deeper or not) or it
// points at a list index only one side reaches; the rest of the unit still
// counts, and no ignore pointer breaks the plan.
func TestIgnoredPathsNeverDrift(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ignore        string
		desired, live any
		want          []syncd.FieldChange
	}{
		{"key only live has", "/cfg/k", map[string]any{"x": 1.0}, map[string]any{"x": 1.0, "k": 5.0}, nil},
		{"index only live has", "/cfg/2", []any{"a", "b"}, []any{"a", "b", "c"},
			[]syncd.FieldChange{{Path: "/cfg/2", Before: "c"}}},
		{"index only desired has", "/cfg/2", []any{"a", "b", "c"}, []any{"a", "b"},
			[]syncd.FieldChange{{Path: "/cfg/2", After: "c"}}},
		{"key only live has, other key differs", "/cfg/k", map[string]any{"x": 1.0}, map[string]any{"x": 2.0, "k": 5.0},
			[]syncd.FieldChange{{Path: "/cfg/x", Before: 2.0, After: 1.0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := pwDesired("a", "A", "")
			d.Spec["cfg"] = tc.desired
			d.Policy.Ignore = []string{tc.ignore}
			l := pwLive("1", "A")
			l.Spec["cfg"] = tc.live
			p := Build(Input{Rules: testRules, Hasher: testHasher, Desired: []*syncd.Desired{d},
				Live: []syncd.Live{l}, Bindings: bindings("a", "1")})
			if diff := cmp.Diff(tc.want, p.Changes[0].Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFieldOrderIsByPointerEitherWay: a parent sorts before its child
// whichever side of the comparison it is on.
func TestFieldOrderIsByPointerEitherWay(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"/a", "/a/b", -1}, {"/a/b", "/a", 1}, {"/x/2", "/x/10", -1}, {"/x/10", "/x/2", 1}, {"/a", "/a", 0},
	} {
		if got := comparePointers(tc.a, tc.b); got != tc.want {
			t.Errorf("comparePointers(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestMarkedSecretInsideListIsRedacted: a secret the manifest marks inside
// a list (a Make section) is redacted both when it changes and when the
// whole list replaces a value of another type.
func TestMarkedSecretInsideListIsRedacted(t *testing.T) {
	spec := func(params any) map[string]any {
		s := map[string]any{"app": "x", "type": "oauth", "label": "L", "sections": map[string]any{}}
		if params != nil {
			s["sections"] = map[string]any{"parameters": params}
		}
		return s
	}
	for _, tc := range []struct {
		name string
		live any
		want []syncd.FieldChange
	}{
		{"changed", []any{map[string]any{"pw": "old", "label": "L"}},
			[]syncd.FieldChange{{Path: "/sections/parameters/0/pw", Sensitive: true, Before: syncd.Redacted, After: syncd.Redacted}}},
		{"list replacing a string", "none",
			[]syncd.FieldChange{{Path: "/sections/parameters", Before: "none", After: []any{map[string]any{"pw": syncd.Redacted, "label": "L"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "a"},
				Spec: spec([]any{map[string]any{"pw": "s3cret", "label": "L"}}), Sensitive: []string{"/sections/parameters/0/pw"}}
			l := syncd.Live{Kind: syncd.MakeConnection, RemoteID: "x", Spec: spec(tc.live)}
			p := Build(Input{Rules: testRules, Desired: []*syncd.Desired{d}, Live: []syncd.Live{l}, Hasher: testHasher,
				Bindings: map[syncd.Key]syncd.Binding{d.Key: {Key: d.Key, RemoteID: "x"}}})
			if diff := cmp.Diff(tc.want, p.Changes[0].Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
