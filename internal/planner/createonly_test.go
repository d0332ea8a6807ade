package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

// TestPatchworksCreateOnlyFields: certificate_id cannot be updated (the
// documented update rules omit it), so a change plans a replace, under the
// usual safety rules; session_id and platform_app_key are never read back
// and never compared.
func TestPatchworksCreateOnlyFields(t *testing.T) {
	withCert := func(d *syncd.Desired, v any) *syncd.Desired { d.Spec["certificate_id"] = v; return d }
	liveCert := func(l syncd.Live, v any) syncd.Live { l.Spec["certificate_id"] = v; return l }
	tests := []struct {
		name string
		in   Input
		want []outcome
	}{
		{"same certificate (number and string alike)",
			Input{Rules: testRules, Desired: []*syncd.Desired{withCert(pwDesired("a", "A", ""), "7")}, Live: []syncd.Live{liveCert(pwLive("1", "A"), 7.0)}, Bindings: bindings("a", "1")},
			[]outcome{{Name: "a", Action: ActionNoop, RemoteID: "1"}}},
		{"changed certificate on an owned connector: replace",
			Input{Rules: testRules, Desired: []*syncd.Desired{withCert(pwDesired("a", "A", ""), "8")}, Live: []syncd.Live{liveCert(pwLive("1", "A"), "7")}, Bindings: bindings("a", "1")},
			[]outcome{{Name: "a", Action: ActionReplace, RemoteID: "1"}}},
		{"changed certificate on a connector not owned: blocked",
			Input{Rules: testRules, Desired: []*syncd.Desired{withCert(pwDesired("a", "A", ""), "8")}, Live: []syncd.Live{liveCert(pwLive("1", "A"), "7")}},
			[]outcome{{Name: "a", Action: ActionReplace, RemoteID: "1", Blocked: reasonNotOwned}}},
		{"changed certificate with a manifest that failed to load: blocked",
			Input{Rules: testRules, Desired: []*syncd.Desired{withCert(pwDesired("a", "A", ""), "8")}, Live: []syncd.Live{liveCert(pwLive("1", "A"), "7")}, Bindings: bindings("a", "1"), LoadFailed: true},
			[]outcome{{Name: "a", Action: ActionReplace, RemoteID: "1", Blocked: reasonLoadFailed}}},
		{"session_id and platform_app_key are not compared",
			Input{Rules: testRules, Desired: []*syncd.Desired{func() *syncd.Desired {
				d := pwDesired("a", "A", "")
				d.Spec["session_id"], d.Spec["platform_app_key"] = "s", "k"
				return d
			}()}, Live: []syncd.Live{pwLive("1", "A")}, Bindings: bindings("a", "1")},
			[]outcome{{Name: "a", Action: ActionNoop, RemoteID: "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Hasher = testHasher
			if diff := cmp.Diff(tt.want, outcomes(Build(tt.in))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
