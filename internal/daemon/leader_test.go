package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// status fetches /v1/status.
func (r *running) status(t *testing.T) daemon.Status {
	t.Helper()
	code, body := r.get(t, "/v1/status")
	if code != 200 {
		t.Fatalf("/v1/status answered %d: %s", code, body)
	}
	var s daemon.Status
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("/v1/status: %v\n%s", err, body)
	}
	return s
}

// Two replicas in apply mode on one database: only the holder of the
// advisory lock applies, the other's runs are report runs; when the holder
// stops, the other takes over and applies.
func TestTwoReplicasOneApplier(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	db := pool(t, env)

	// Each replica has its own audit store and runner, as two processes
	// would; their actor tells their runs apart.
	replica := func(actor string) daemon.Options {
		st, err := audit.Open(context.Background(), env.DB, audit.Options{SpoolDir: t.TempDir(), FlushInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return daemon.Options{
			Mode: syncd.ModeApply, DatabaseURL: env.DB, LeaderInterval: 100 * time.Millisecond, Store: st,
			Runner: stack.Wire(st, state.New(st.DB(), st, nil), env.Providers, env.Hasher, stack.Settings{TestConnectors: true, Actor: actor}).Runner,
		}
	}
	a := startDaemon(t, env, replica("replica-a"))
	a.waitReady(t)
	waitFor(t, "replica a to lead", func() bool { return a.status(t).Leader })
	b := startDaemon(t, env, replica("replica-b"))
	b.waitReady(t)

	signalRuns := func(actor string) int {
		return count(t, db, `select count(*) from runs where trigger = 'signal' and actor = $1 and finished_at is not null`, actor)
	}
	a.sighup()
	b.sighup()
	waitFor(t, "a signal run of each replica", func() bool { return signalRuns("replica-a") == 1 && signalRuns("replica-b") == 1 })
	if a.status(t).Leader == b.status(t).Leader {
		t.Fatalf("leaders: a %v, b %v; want exactly one", a.status(t).Leader, b.status(t).Leader)
	}
	type runMode struct{ Actor, Mode string }
	modes := func(trigger string) []runMode {
		rows, err := db.Query(t.Context(), `select actor, mode from runs where trigger = $1 order by actor`, trigger)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []runMode
		for rows.Next() {
			var m runMode
			if err := rows.Scan(&m.Actor, &m.Mode); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	want := []runMode{{"replica-a", "apply"}, {"replica-b", "report"}}
	if diff := cmp.Diff(want, modes("signal")); diff != "" {
		t.Errorf("signal runs (-want +got):\n%s", diff)
	}
	if n := count(t, db, `select count(*) from runs where mode = 'apply' and actor <> 'replica-a'`); n != 0 {
		t.Errorf("%d apply runs by the replica that does not hold the lock", n)
	}
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_applied' and actor <> 'replica-a'`); n != 0 {
		t.Errorf("%d changes applied by the replica that does not hold the lock", n)
	}
	if got := len(env.Emu.MakeConnections("app-one")) + env.Emu.ConnectorCount(); got != 2 {
		t.Errorf("%d objects on the platforms, want 2 (created once)", got)
	}

	// The leader goes away; the other takes over and converges at once,
	// reverting a change made meanwhile without waiting for a trigger. The
	// change is made before the leader stops (it has no schedule and no
	// file changes to run on), so that the takeover cannot come first.
	shop := remoteID(t, db, syncd.PatchworksConnector, "shop")
	if err := env.Emu.EditConnector(connectorID(t, shop), map[string]any{"timezone": "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	if err := a.stop(); err != nil {
		t.Fatalf("replica a: %v", err)
	}
	waitFor(t, "replica b to take over", func() bool { return b.status(t).Leader })
	waitFor(t, "replica b's takeover run", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'leader' and actor = 'replica-b' and finished_at is not null`) == 1
	})
	if n := count(t, db, `select count(*) from runs where trigger = 'leader' and actor = 'replica-b' and mode = 'apply'`); n != 1 {
		t.Errorf("replica b's takeover run is not an apply run")
	}
	// The run is finished; its events reach the table with the store's
	// next flush.
	waitFor(t, "replica b's change to shop in the audit table", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'change_applied' and actor = 'replica-b' and resource_name = 'shop'`) >= 1
	})
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_applied' and actor = 'replica-b' and resource_name = 'shop'`); n != 1 {
		t.Errorf("replica b applied %d changes to shop after taking over, want 1", n)
	}
	noOverlappingRuns(t, db)
}

// A single replica in apply mode with leader election converges in its
// very first reconcile: it does not report first and wait for the next
// trigger because the lock was not taken yet.
func TestSingleReplicaAppliesAtStartup(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	db := pool(t, env)
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeApply, DatabaseURL: env.DB, LeaderInterval: time.Hour})
	d.waitReady(t)
	var mode string
	if err := db.QueryRow(t.Context(), `select mode from runs where trigger = 'startup'`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != string(syncd.ModeApply) {
		t.Errorf("startup run in mode %q, want apply", mode)
	}
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_applied' and action = 'create'`); n != 2 {
		t.Errorf("%d creates applied at startup, want 2", n)
	}
	// The writes are counted with the reads: every Patchworks request the
	// emulator answered 200 (the create among them: documented as 200).
	pw := env.Emu.Counts().Patchworks
	if n := pw.ByRoute["POST /api/v1/connectors"]; n != 1 {
		t.Fatalf("Patchworks creates = %d, want 1", n)
	}
	if _, metrics := d.get(t, "/metrics"); !strings.Contains(metrics, fmt.Sprintf(`syncd_api_requests_total{platform="patchworks",status="200"} %d`, pw.ByStatus["200"])) {
		t.Errorf("/metrics does not count the create:\n%s", grepLines(metrics, "syncd_api_requests_total"))
	}
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A leader that is stopped mid-apply keeps the lock until its step in
// flight has finished: the replica taking over never applies while the
// old leader still writes.
func TestTakeoverWaitsForTheStepInFlight(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	names := []string{"shop", "erp", "crm"}
	for _, name := range names {
		env.Write(t, "patchworks/"+name+".yaml", testenv.PatchworksDoc(name, strings.ToUpper(name)))
	}
	db := pool(t, env)
	replica := func(actor string) daemon.Options {
		return daemon.Options{
			Mode: syncd.ModeApply, DatabaseURL: env.DB, LeaderInterval: 50 * time.Millisecond,
			Runner: stack.Wire(env.Store, env.State, env.Providers, env.Hasher, stack.Settings{TestConnectors: true, Actor: actor}).Runner,
		}
	}
	a := startDaemon(t, env, replica("replica-a"))
	a.waitReady(t)
	waitFor(t, "replica a to lead", func() bool { return a.status(t).Leader })
	b := startDaemon(t, env, replica("replica-b"))
	b.waitReady(t)

	// Drift on every connector, slow platform calls, and a reconcile of
	// replica a only (b stays idle, ready to take over at once).
	for _, name := range names {
		if err := env.Emu.EditConnector(connectorID(t, remoteID(t, db, syncd.PatchworksConnector, name)), map[string]any{"timezone": "Asia/Tokyo"}); err != nil {
			t.Fatal(err)
		}
	}
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.Latency = 200 * time.Millisecond })
	a.sighup()
	waitFor(t, "replica a's apply to be in flight", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'change_planned' and outcome = 'pending' and actor = 'replica-a' and action = 'update'`) > 0
	})
	if err := a.stop(); err != nil {
		t.Fatalf("replica a: %v", err)
	}
	waitFor(t, "replica b's takeover run", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'leader' and actor = 'replica-b' and finished_at is not null`) == 1
	})
	if n := count(t, db, `select count(*) from runs b join runs a on a.actor = 'replica-a'
		where b.actor = 'replica-b' and b.mode = 'apply' and b.started_at < a.finished_at`); n != 0 {
		t.Errorf("replica b started %d apply runs before replica a's last run finished", n)
	}
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_applied' and action = 'update'`); n != len(names) {
		t.Errorf("%d updates applied, want %d (each once)", n, len(names))
	}
}
