package daemon_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// A manifest that fails to load is recorded as manifest_invalid and deletes
// nothing, even with pruning on and another manifest removed meanwhile: the
// daemon keeps its last good desired state. Once the manifest is fixed, the
// removal takes effect — which proves pruning was on all along. The
// planner's load-failure guard is not what holds here (the last good state
// still has both resources): TestBrokenManifestAtStartupHitsTheGuard
// covers a daemon that has no good state to fall back on.
func TestBrokenManifestIsRecordedAndDeletesNothing(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	env.Write(t, "make/beta.yaml", testenv.MakeDoc("beta", "app-one", "Beta", "apikey"))
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	applyAll(t, env)
	db := pool(t, env)
	alpha := remoteID(t, db, syncd.MakeConnection, "alpha")
	beta := remoteID(t, db, syncd.MakeConnection, "beta")
	shop := remoteID(t, db, syncd.PatchworksConnector, "shop")
	exists := func(t *testing.T) {
		t.Helper()
		for _, name := range []string{alpha, beta} {
			if _, ok := env.Emu.MakeConnection(name); !ok {
				t.Errorf("Make connection %s was deleted", name)
			}
		}
		if _, ok := env.Emu.Connector(connectorID(t, shop)); !ok {
			t.Errorf("Patchworks connector %s was deleted", shop)
		}
	}

	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeApply, Prune: true})
	d.waitReady(t)

	good := testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey")
	env.Write(t, "make/alpha.yaml", strings.Replace(good, "  type: apikey\n", "  type: [apikey\n", 1))
	env.Remove(t, "make/beta.yaml")
	waitFor(t, "manifest_invalid", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'manifest_invalid'`) > 0
	})
	var errText, mode string
	if err := db.QueryRow(t.Context(), `select error, mode from audit_events where event_type = 'manifest_invalid' order by id limit 1`).Scan(&errText, &mode); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "alpha.yaml") {
		t.Errorf("manifest_invalid error %q does not name the file", errText)
	}
	if mode != string(syncd.ModeApply) {
		t.Errorf("manifest_invalid recorded in mode %q", mode)
	}
	// A full reconcile (SIGHUP) with the broken manifest still deletes nothing.
	d.sighup()
	waitFor(t, "the signal run to finish", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'signal' and finished_at is not null`) == 1
	})
	// The daemon's log line about it belongs to the run (the watch run's
	// line is written before the signal run starts).
	for _, line := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(line, `msg="manifest invalid"`) && !strings.Contains(line, "run_id=") {
			t.Errorf("log line without run id: %s", line)
		}
	}
	if !strings.Contains(d.logs.String(), `msg="manifest invalid"`) {
		t.Error("no log line about the invalid manifest")
	}
	if n := count(t, db, `select count(*) from runs where trigger = 'signal' and outcome = 'manifest_invalid'`); n != 1 {
		t.Errorf("the signal run's outcome is not manifest_invalid")
	}
	if n := count(t, db, `select count(*) from audit_events where action in ('delete', 'replace')`); n != 0 {
		t.Errorf("%d delete or replace events while a manifest is broken", n)
	}
	exists(t)
	if t.Failed() {
		return
	}

	env.Write(t, "make/alpha.yaml", good)
	waitFor(t, "beta's delete once alpha loads again", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'change_applied'
			and action = 'delete' and resource_name = 'beta'`) == 1
	})
	if _, ok := env.Emu.MakeConnection(beta); ok {
		// Make deletes asynchronously; the object may linger in lists but
		// not in a GET.
		t.Errorf("beta's connection %s still exists after its delete was applied", beta)
	}
	if n := count(t, db, `select count(*) from audit_events where action = 'delete' and resource_name <> 'beta'`); n != 0 {
		t.Errorf("%d deletes of resources whose manifests exist", n)
	}
}

// TestBrokenManifestAtStartupHitsTheGuard: a daemon that starts while a
// manifest is broken and another was removed has no last good state, so
// the plan it makes lacks both resources and pruning would delete them.
// Only the planner's load-failure guard stands in the way: both deletes are
// blocked with its reason, and both objects stay.
func TestBrokenManifestAtStartupHitsTheGuard(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	good := testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey")
	env.Write(t, "make/alpha.yaml", good)
	env.Write(t, "make/beta.yaml", testenv.MakeDoc("beta", "app-one", "Beta", "apikey"))
	applyAll(t, env)
	db := pool(t, env)
	alpha := remoteID(t, db, syncd.MakeConnection, "alpha")
	beta := remoteID(t, db, syncd.MakeConnection, "beta")
	env.Write(t, "make/alpha.yaml", strings.Replace(good, "  type: apikey\n", "  type: [apikey\n", 1))
	env.Remove(t, "make/beta.yaml")

	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeApply, Prune: true})
	d.waitReady(t)
	waitFor(t, "the startup run to finish", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'startup' and finished_at is not null`) == 1
	})
	if n := count(t, db, `select count(*) from runs where trigger = 'startup' and mode = 'apply'`); n != 1 {
		t.Fatalf("the startup run was not an apply run: the guard is not what this test reaches")
	}
	for _, name := range []string{"alpha", "beta"} {
		n := count(t, db, `select count(*) from audit_events where resource_name = $1 and action = 'delete'
			and outcome = 'blocked' and error like '%a manifest failed to load%'`, name)
		if n != 1 {
			t.Errorf("%d audit rows record %s's delete as blocked by the load-failure guard, want 1", n, name)
		}
	}
	if n := count(t, db, `select count(*) from audit_events where action in ('delete', 'replace') and outcome <> 'blocked'`); n != 0 {
		t.Errorf("%d delete or replace events not blocked while a manifest is broken", n)
	}
	for _, name := range []string{alpha, beta} {
		if _, ok := env.Emu.MakeConnection(name); !ok {
			t.Errorf("Make connection %s was deleted", name)
		}
	}
}
