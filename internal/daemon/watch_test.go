package daemon_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// reads keeps the GET routes of a platform's request counts.
func reads(c emulator.PlatformCounts) map[string]int {
	out := map[string]int{}
	for route, n := range c.ByRoute {
		if strings.HasPrefix(route, "GET ") {
			out[route] = n
		}
	}
	return out
}

// writes counts the requests that were not reads.
func writes(c emulator.PlatformCounts) int {
	n := 0
	for m, k := range c.ByMethod {
		if m != "GET" {
			n += k
		}
	}
	return n
}

// An edited manifest is re-planned alone: its change is recorded by a run
// triggered by the watcher, and only its own objects are read — the edit of
// a Patchworks connector reads nothing of Make, and the edit of a Make
// connection reads only its app's list and its declared sections and
// common data, not the other app's.
func TestWatchEditPlansOnlyTheEditedResource(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	env.Write(t, "make/beta.yaml", testenv.MakeDoc("beta", "app-two", "Beta", "apikey"))
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	env.Write(t, "patchworks/erp.yaml", testenv.PatchworksDoc("erp", "ERP"))
	applyAll(t, env)
	db := pool(t, env)

	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport})
	d.waitReady(t)

	tests := []struct {
		name     string
		file     string
		content  string
		kind     syncd.Kind
		resource string
		action   string
		field    string
		check    func(t *testing.T, c emulator.Counts)
	}{
		{
			name: "patchworks connector", file: "patchworks/shop.yaml",
			content: strings.Replace(testenv.PatchworksDoc("shop", "Shop"), "Europe/London", "Europe/Paris", 1),
			kind:    syncd.PatchworksConnector, resource: "shop", action: "update", field: "/timezone",
			check: func(t *testing.T, c emulator.Counts) {
				if c.Make.Total != 0 {
					t.Errorf("editing a Patchworks manifest made %d Make requests: %v", c.Make.Total, c.Make.ByRoute)
				}
				if c.Patchworks.Total == 0 {
					t.Error("editing a Patchworks manifest read nothing from Patchworks")
				}
				if n := writes(c.Patchworks); n != 0 {
					t.Errorf("report mode wrote %d times to Patchworks: %v", n, c.Patchworks.ByRoute)
				}
			},
		},
		{
			name: "make connection", file: "make/alpha.yaml",
			content: strings.Replace(testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"), "clientId: id-alpha", "clientId: id-alpha-2", 1),
			kind:    syncd.MakeConnection, resource: "alpha", action: "update", field: "/common/clientId",
			check: func(t *testing.T, c emulator.Counts) {
				if c.Patchworks.Total != 0 {
					t.Errorf("editing a Make manifest made %d Patchworks requests: %v", c.Patchworks.Total, c.Patchworks.ByRoute)
				}
				// One list of app-one (never app-two's), the two sections
				// the manifest declares, and its common data.
				want := map[string]int{
					"GET /sdk/apps/{app}/connections":            1,
					"GET /sdk/apps/connections/{name}/{section}": 2,
					"GET /sdk/apps/connections/{name}/common":    1,
				}
				if diff := cmp.Diff(want, reads(c.Make)); diff != "" {
					t.Errorf("Make reads (-want +got):\n%s", diff)
				}
				if n := writes(c.Make); n != 0 {
					t.Errorf("report mode wrote %d times to Make: %v", n, c.Make.ByRoute)
				}
			},
		},
		{
			name: "new manifest in a new directory", file: "patchworks/eu/new/crm.yaml",
			content: testenv.PatchworksDoc("crm", "CRM"),
			kind:    syncd.PatchworksConnector, resource: "crm", action: "create",
			check: func(t *testing.T, c emulator.Counts) {
				if c.Make.Total != 0 {
					t.Errorf("a new Patchworks manifest made %d Make requests: %v", c.Make.Total, c.Make.ByRoute)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := count(t, db, `select count(*) from runs`)
			env.Emu.ResetCounts()
			env.Write(t, tc.file, tc.content)
			where := `e.event_type = 'change_planned' and r.trigger = 'watch' and e.resource_kind = $1 and e.resource_name = $2`
			waitFor(t, "the edit's change_planned row", func() bool {
				return len(events(t, db, where, string(tc.kind), tc.resource)) > 0
			})
			waitFor(t, "the watch run to finish", func() bool {
				return count(t, db, `select count(*) from runs where trigger = 'watch' and finished_at is null`) == 0
			})
			got := events(t, db, `r.trigger = 'watch' and e.resource_name is not null and e.run_id = (
				select id from runs where trigger = 'watch' order by started_at desc limit 1)`)
			want := []event{{Type: "change_planned", Kind: string(tc.kind), Name: tc.resource, Action: tc.action,
				Outcome: "report_only", Mode: "report", Trigger: "watch"}}
			// drift_* rows are about the live objects, not the edit: the
			// manifest moved away from a live object that did not.
			var planned []event
			for _, e := range got {
				if e.Type == "change_planned" {
					planned = append(planned, e)
				}
			}
			if diff := cmp.Diff(want, planned); diff != "" {
				t.Errorf("planned changes of the watch run (-want +got):\n%s", diff)
			}
			var fields string
			if err := db.QueryRow(t.Context(), `select coalesce(e.changes::text, '') from audit_events e join runs r on r.id = e.run_id
				where r.trigger = 'watch' and e.event_type = 'change_planned' and e.resource_name = $1
				order by e.id desc limit 1`, tc.resource).Scan(&fields); err != nil {
				t.Fatal(err)
			}
			if tc.field != "" && !strings.Contains(fields, tc.field) {
				t.Errorf("change_planned changes %s do not name %s", fields, tc.field)
			}
			if n := count(t, db, `select count(*) from runs`) - before; n != 1 {
				t.Errorf("the edit started %d runs, want 1", n)
			}
			tc.check(t, env.Emu.Counts())
		})
	}
	noSecrets(t, "daemon log", d.logs.String())
}
