package daemon_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// driftRow is a drift episode as users query it.
type driftRow struct {
	Resolved   bool
	Resolution string
}

// The drift lifecycle through scheduled scans: a change made out of band
// (as in the web console) is detected once by the next scan, stays open
// while it lasts, and is resolved — by someone reverting it in report mode,
// by the daemon's own apply in apply mode.
func TestScheduledScanDriftLifecycle(t *testing.T) {
	tests := []struct {
		name     string
		mode     syncd.Mode
		kind     syncd.Kind
		resource string
		// drift changes the live object out of band; revert undoes it
		// (nil: the daemon is expected to revert it itself).
		drift  func(t *testing.T, emu *emulator.Server, id string)
		revert func(t *testing.T, env *testenv.Env, id string)
		// reverted checks the live object is as the manifest says again.
		reverted   func(emu *emulator.Server, id string) bool
		resolution string
		// reportOnly sets policy.mode: report on the drifted resource.
		reportOnly bool
	}{
		{
			name: "report mode, make label changed and changed back", mode: syncd.ModeReport,
			kind: syncd.MakeConnection, resource: "alpha",
			drift:      func(t *testing.T, emu *emulator.Server, id string) { editLabel(t, emu, id, "Alpha (edited by hand)") },
			revert:     func(t *testing.T, env *testenv.Env, id string) { editLabel(t, env.Emu, id, "Alpha") },
			reverted:   func(emu *emulator.Server, id string) bool { c, _ := emu.MakeConnection(id); return c.Label == "Alpha" },
			resolution: "reverted",
		},
		{
			name: "report mode, manifest changed to what the console did", mode: syncd.ModeReport,
			kind: syncd.PatchworksConnector, resource: "shop",
			drift: func(t *testing.T, emu *emulator.Server, id string) {
				if err := emu.EditConnector(connectorID(t, id), map[string]any{"timezone": "Asia/Tokyo"}); err != nil {
					t.Fatal(err)
				}
			},
			revert: func(t *testing.T, env *testenv.Env, id string) {
				env.Write(t, "patchworks/shop.yaml", strings.Replace(testenv.PatchworksDoc("shop", "Shop"), "Europe/London", "Asia/Tokyo", 1))
			},
			reverted: func(emu *emulator.Server, id string) bool {
				n, _ := strconv.ParseInt(id, 10, 64)
				c, _ := emu.Connector(n)
				return c.Attributes["timezone"] == "Asia/Tokyo"
			},
			resolution: "manifest_change",
		},
		{
			name: "apply mode, policy report: reported, never reverted by syncd", mode: syncd.ModeApply,
			kind: syncd.PatchworksConnector, resource: "shop", reportOnly: true,
			drift: func(t *testing.T, emu *emulator.Server, id string) {
				if err := emu.EditConnector(connectorID(t, id), map[string]any{"timezone": "Asia/Tokyo"}); err != nil {
					t.Fatal(err)
				}
			},
			revert: func(t *testing.T, env *testenv.Env, id string) {
				if err := env.Emu.EditConnector(connectorID(t, id), map[string]any{"timezone": "Europe/London"}); err != nil {
					t.Fatal(err)
				}
			},
			reverted: func(emu *emulator.Server, id string) bool {
				n, _ := strconv.ParseInt(id, 10, 64)
				c, _ := emu.Connector(n)
				return c.Attributes["timezone"] == "Europe/London"
			},
			resolution: "reverted",
		},
		{
			name: "apply mode, patchworks timezone reverted by apply", mode: syncd.ModeApply,
			kind: syncd.PatchworksConnector, resource: "shop",
			drift: func(t *testing.T, emu *emulator.Server, id string) {
				if err := emu.EditConnector(connectorID(t, id), map[string]any{"timezone": "Asia/Tokyo"}); err != nil {
					t.Fatal(err)
				}
			},
			reverted: func(emu *emulator.Server, id string) bool {
				n, _ := strconv.ParseInt(id, 10, 64)
				c, _ := emu.Connector(n)
				return c.Attributes["timezone"] == "Europe/London"
			},
			resolution: "apply",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{})
			env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
			env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
			applyAll(t, env)
			if tc.reportOnly {
				// Created by syncd, then handed over to another team.
				env.Write(t, "patchworks/shop.yaml", strings.Replace(testenv.PatchworksDoc("shop", "Shop"),
					"\nspec:\n", "\npolicy:\n  mode: report\nspec:\n", 1))
			}
			db := pool(t, env)
			id := remoteID(t, db, tc.kind, tc.resource)

			d := startDaemon(t, env, daemon.Options{Mode: tc.mode, Schedule: "@every 1s"})
			d.waitReady(t)
			if n := count(t, db, `select count(*) from audit_events where event_type like 'drift_%'`); n != 0 {
				t.Fatalf("%d drift events before any drift", n)
			}

			tc.drift(t, env.Emu, id)
			detected := `e.event_type = 'drift_detected' and e.resource_kind = $1 and e.resource_name = $2`
			waitFor(t, "drift_detected", func() bool {
				return len(events(t, db, detected, string(tc.kind), tc.resource)) > 0
			})
			got := events(t, db, detected, string(tc.kind), tc.resource)
			if got[0].Trigger != "schedule" || got[0].Mode != string(tc.mode) {
				t.Errorf("drift_detected by trigger %q in mode %q, want schedule in %s", got[0].Trigger, got[0].Mode, tc.mode)
			}

			if tc.revert != nil {
				// Still open on later scans, and detected only once.
				waitFor(t, "two more scans of the open drift", func() bool {
					return count(t, db, `select count(*) from drift_open where kind = $1 and name = $2 and occurrences >= 3`,
						string(tc.kind), tc.resource) == 1
				})
				if n := len(events(t, db, detected, string(tc.kind), tc.resource)); n != 1 {
					t.Errorf("%d drift_detected rows for one open drift, want 1", n)
				}
				if n := len(events(t, db, `e.event_type in ('change_applied', 'change_failed') and e.resource_name = $1 and r.trigger <> 'test'`, tc.resource)); n != 0 {
					t.Errorf("%d writes to a drifted resource syncd must only report", n)
				}
				tc.revert(t, env, id)
			}
			resolved := `e.event_type = 'drift_resolved' and e.resource_kind = $1 and e.resource_name = $2`
			waitFor(t, "drift_resolved", func() bool {
				return len(events(t, db, resolved, string(tc.kind), tc.resource)) > 0
			})
			if !tc.reverted(env.Emu, id) {
				t.Error("the live object is not back to its manifest")
			}
			var rows []driftRow
			r, err := db.Query(t.Context(), `select resolved_at is not null, coalesce(resolution, '') from drift
				where kind = $1 and name = $2 order by id`, string(tc.kind), tc.resource)
			if err != nil {
				t.Fatal(err)
			}
			for r.Next() {
				var row driftRow
				if err := r.Scan(&row.Resolved, &row.Resolution); err != nil {
					t.Fatal(err)
				}
				rows = append(rows, row)
			}
			r.Close()
			if diff := cmp.Diff([]driftRow{{Resolved: true, Resolution: tc.resolution}}, rows); diff != "" {
				t.Errorf("drift episodes (-want +got):\n%s", diff)
			}
			if n := count(t, db, `select count(*) from drift_open`); n != 0 {
				t.Errorf("%d drifts still open", n)
			}
			// The other resource never drifted.
			if n := count(t, db, `select count(*) from audit_events where event_type like 'drift_%' and resource_name <> $1`, tc.resource); n != 0 {
				t.Errorf("%d drift events for resources that did not drift", n)
			}
			if tc.mode == syncd.ModeApply && !tc.reportOnly {
				if n := len(events(t, db, `e.event_type = 'change_applied' and e.resource_name = $1 and r.trigger = 'schedule'`, tc.resource)); n != 1 {
					t.Errorf("%d change_applied rows reverting the drift, want 1", n)
				}
			}
			noSecrets(t, "daemon log", d.logs.String())
			noOverlappingRuns(t, db)
			// The daemon logs the drift it opened and the one it resolved,
			// by resource and field path. It logs after the run returns,
			// which is after the audit rows waited on above: wait for the
			// lines themselves.
			res := string(tc.kind) + "/" + tc.resource
			loggedOpen := func() bool {
				logs := d.logs.String()
				return strings.Contains(logs, `msg="drift opened"`) && strings.Contains(logs, "resource="+res)
			}
			loggedResolve := func() bool {
				logs := d.logs.String()
				return strings.Contains(logs, `msg="drift resolved"`) && strings.Contains(logs, "how="+tc.resolution)
			}
			waitFor(t, "log lines for the drift opened on "+res+" and resolved ("+tc.resolution+")", func() bool { return loggedOpen() && loggedResolve() })
			noSecrets(t, "daemon log", d.logs.String())
		})
	}
}

func editLabel(t *testing.T, emu *emulator.Server, name, label string) {
	t.Helper()
	if err := emu.EditMakeConnection(name, emulator.MakeEdit{Label: &label}); err != nil {
		t.Fatal(err)
	}
}

func connectorID(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("connector id %q: %v", id, err)
	}
	return n
}
