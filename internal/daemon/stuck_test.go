package daemon_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// TestStuckChangeIsNotRewrittenForever: a platform that answers 200 and
// silently drops a field makes every revert of that field not effective.
// A daemon at @every 1s makes 3 such writes, then holds the resource back
// (one stuck event; /v1/status, the metric and the audit query show it)
// for the rest of at least ten scans. A manual run retries it; a change
// of the live state releases it.
func TestStuckChangeIsNotRewrittenForever(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "pw/x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	applyAll(t, env)
	db := pool(t, env)
	id := connectorID(t, remoteID(t, db, syncd.PatchworksConnector, "pw-x"))
	// Someone changes the timezone by hand; the platform then ignores
	// every write of it.
	if err := env.Emu.EditConnector(id, map[string]any{"timezone": "UTC"}); err != nil {
		t.Fatal(err)
	}
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.IgnoreFields = []string{"patchworks/timezone"} })
	puts := func() int { return env.Emu.Counts().Patchworks.ByRoute["PUT /api/v1/connectors/{id}"] }
	before := puts()

	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeApply, Schedule: "@every 1s"})
	waitFor(t, "ten scheduled scans", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'schedule' and finished_at is not null`) >= 10
	})
	if n := puts() - before; n != reconcile.StuckAfter {
		t.Errorf("the daemon wrote the change %d times, want %d", n, reconcile.StuckAfter)
	}
	key := "PatchworksConnector/pw-x"
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_failed' and outcome = 'stuck' and resource_name = 'pw-x'`); n != 1 {
		t.Errorf("%d stuck events, want 1", n)
	}
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_failed' and outcome = 'failed' and resource_name = 'pw-x' and error like '%did not keep /timezone%'`); n != reconcile.StuckAfter {
		t.Errorf("%d not-effective events naming /timezone, want %d", n, reconcile.StuckAfter)
	}
	_, body := d.get(t, "/v1/status")
	var st struct {
		Stuck []reconcile.Stuck `json:"stuck"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Stuck) != 1 || st.Stuck[0].Resource != key || st.Stuck[0].Attempts != reconcile.StuckAfter {
		t.Errorf("/v1/status stuck = %+v", st.Stuck)
	}
	if _, metrics := d.get(t, "/metrics"); !strings.Contains(metrics, "syncd_stuck_resources 1") {
		t.Errorf("metrics lack syncd_stuck_resources 1")
	}
	if stuck, err := env.Store.StuckResources(ctx); err != nil || len(stuck) != 1 || stuck[0].Key.String() != key {
		t.Errorf("StuckResources = %+v, %v", stuck, err)
	}
	noSecrets(t, "/v1/status", body)
	noSecrets(t, "daemon log", d.logs.String())
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	// A manual run (syncd apply) retries it.
	set := env.Load(t)
	res, err := env.Runner.Once(ctx, reconcile.Request{Trigger: "cli", Mode: syncd.ModeApply, Set: set, Manual: true})
	if err != nil || res.Report.Failed != 1 || puts()-before != reconcile.StuckAfter+1 {
		t.Fatalf("manual run: %+v, %v, %d writes", res.Report, err, puts()-before)
	}
	// The daemon's own runs do not.
	res, err = env.Runner.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set})
	if err != nil || res.Report.Failed != 0 || puts()-before != reconcile.StuckAfter+1 {
		t.Fatalf("held run: %+v, %v, %d writes", res.Report, err, puts()-before)
	}
	// The live state changes: released and retried.
	if err := env.Emu.EditConnector(id, map[string]any{"timezone": "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	res, err = env.Runner.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set})
	if err != nil || res.Report.Failed != 1 || puts()-before != reconcile.StuckAfter+2 {
		t.Fatalf("after a live change: %+v, %v, %d writes", res.Report, err, puts()-before)
	}
	if got := env.Runner.Stuck(); len(got) != 0 {
		t.Errorf("still stuck: %+v", got)
	}
	if stuck, err := env.Store.StuckResources(ctx); err != nil || len(stuck) != 0 {
		t.Errorf("StuckResources after release = %+v, %v", stuck, err)
	}
	if n := count(t, db, `select count(*) from audit_events where outcome = 'unstuck' and resource_name = 'pw-x'`); n != 1 {
		t.Errorf("%d unstuck events, want 1", n)
	}
}

// TestTransientFailuresNeverMakeStuck: failures an outage causes (here a
// 502 after every write) neither count towards stuck nor reset the count;
// refused or not-effective attempts do.
func TestTransientFailuresNeverMakeStuck(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "pw/x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	applyAll(t, env)
	db := pool(t, env)
	id := connectorID(t, remoteID(t, db, syncd.PatchworksConnector, "pw-x"))
	if err := env.Emu.EditConnector(id, map[string]any{"timezone": "UTC"}); err != nil {
		t.Fatal(err)
	}
	set := env.Load(t)
	run := func() *reconcile.Result {
		t.Helper()
		res, err := env.Runner.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) {
		k.IgnoreFields, k.FailAfterWriteRate = []string{"patchworks/timezone"}, 1
	})
	for i := 0; i < reconcile.StuckAfter+1; i++ {
		if res := run(); res.Report.Failed != 1 {
			t.Fatalf("run %d: %+v", i, res.Report)
		}
	}
	if got := env.Runner.Stuck(); len(got) != 0 {
		t.Fatalf("stuck after transient failures: %+v", got)
	}
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.FailAfterWriteRate = 0 })
	for i := 0; i < reconcile.StuckAfter; i++ {
		run()
	}
	if got := env.Runner.Stuck(); len(got) != 1 {
		t.Fatalf("not stuck after %d not-effective writes: %+v", reconcile.StuckAfter, got)
	}
}

// TestStuckCountSurvivesARestart: two not-effective writes before a
// restart and one after make three in a row: the restarted daemon (a new
// runner, nothing in memory) writes once, records the stuck event and
// then holds the resource back, and lists it on /v1/status.
func TestStuckCountSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "pw/x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	applyAll(t, env)
	db := pool(t, env)
	id := connectorID(t, remoteID(t, db, syncd.PatchworksConnector, "pw-x"))
	if err := env.Emu.EditConnector(id, map[string]any{"timezone": "UTC"}); err != nil {
		t.Fatal(err)
	}
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.IgnoreFields = []string{"patchworks/timezone"} })
	puts := func() int { return env.Emu.Counts().Patchworks.ByRoute["PUT /api/v1/connectors/{id}"] }
	before := puts()
	set := env.Load(t)
	for i := 0; i < reconcile.StuckAfter-1; i++ {
		res, err := env.Runner.Once(ctx, reconcile.Request{Trigger: "schedule", Mode: syncd.ModeApply, Set: set})
		if err != nil || res.Report.Failed != 1 {
			t.Fatalf("run %d before the restart: %+v, %v", i+1, res.Report, err)
		}
	}

	restarted := &reconcile.Runner{Engine: env.Runner.Engine, Executor: env.Runner.Executor, Store: env.Runner.Store, State: env.Runner.State, Actor: env.Runner.Actor}
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeApply, Schedule: "@every 1s", Runner: restarted})
	waitFor(t, "the stuck event and five more scheduled scans", func() bool {
		return count(t, db, `select count(*) from runs r where r.trigger = 'schedule' and r.finished_at is not null
  and r.started_at > (select max(occurred_at) from audit_events where outcome = 'stuck' and resource_name = 'pw-x')`) >= 5
	})
	if n := puts() - before; n != reconcile.StuckAfter {
		t.Errorf("%d writes in all, want %d: the restarted daemon did not carry the count on", n, reconcile.StuckAfter)
	}
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_failed' and outcome = 'stuck' and resource_name = 'pw-x'`); n != 1 {
		t.Errorf("%d stuck events, want 1", n)
	}
	_, body := d.get(t, "/v1/status")
	var st struct {
		Stuck []reconcile.Stuck `json:"stuck"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Stuck) != 1 || st.Stuck[0].Resource != "PatchworksConnector/pw-x" || st.Stuck[0].Attempts != reconcile.StuckAfter {
		t.Errorf("/v1/status stuck = %+v", st.Stuck)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
}
