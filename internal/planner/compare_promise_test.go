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
