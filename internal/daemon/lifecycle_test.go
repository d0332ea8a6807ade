package daemon_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// SIGTERM (the context cancelled) while an apply is in flight: Run returns
// nil, and every event of the run is persisted — each run_started has its
// run_finished, each announced change its outcome.
func TestShutdownMidApplyPersistsEveryEvent(t *testing.T) {
	env := testenv.New(t, testenv.Options{Knobs: emulator.Knobs{Latency: 100 * time.Millisecond}})
	for i := range 4 {
		env.Write(t, fmt.Sprintf("make/m%d.yaml", i), testenv.MakeDoc(fmt.Sprintf("m%d", i), "app-one", fmt.Sprintf("M%d", i), "apikey"))
		env.Write(t, fmt.Sprintf("patchworks/p%d.yaml", i), testenv.PatchworksDoc(fmt.Sprintf("p%d", i), fmt.Sprintf("P%d", i)))
	}
	db := pool(t, env)
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeApply})

	waitFor(t, "the apply to be in flight", func() bool {
		return count(t, db, `select count(*) from audit_events where event_type = 'change_planned' and outcome = 'pending'`) > 0
	})
	// A trigger queued during the step in flight is not started once
	// shutdown has begun.
	d.sighup()
	waitFor(t, "the reload to be taken", func() bool { return len(d.reload) == 0 })
	if err := d.stop(); err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
	if n := count(t, db, `select count(*) from runs where trigger = 'signal'`); n != 0 {
		t.Errorf("%d runs started after shutdown began", n)
	}
	if n := env.Store.SpoolDepth(); n != 0 {
		t.Errorf("%d events left in the spool after Run returned", n)
	}
	started := count(t, db, `select count(*) from audit_events where event_type = 'run_started'`)
	if started == 0 {
		t.Fatal("no run_started rows")
	}
	if n := count(t, db, `select count(*) from audit_events s where s.event_type = 'run_started' and not exists (
		select 1 from audit_events f where f.run_id = s.run_id and f.event_type = 'run_finished')`); n != 0 {
		t.Errorf("%d of %d runs have no run_finished row", n, started)
	}
	if n := count(t, db, `select count(*) from runs where finished_at is null`); n != 0 {
		t.Errorf("%d runs without finished_at", n)
	}
	// The step in flight was finished, not abandoned: every announced
	// change was applied (a change_failed, e.g. a write cut off by the
	// shutdown, is not finished), and nothing is half-made.
	planned := count(t, db, `select count(*) from audit_events where event_type = 'change_planned' and outcome = 'pending'`)
	if n := count(t, db, `select count(*) from audit_events p where p.event_type = 'change_planned' and p.outcome = 'pending'
		and not exists (select 1 from audit_events o where o.run_id = p.run_id and o.resource_kind = p.resource_kind
			and o.resource_name = p.resource_name and o.event_type = 'change_applied')`); n != 0 {
		t.Errorf("%d of %d announced changes have no change_applied row", n, planned)
	}
	if n := count(t, db, `select count(*) from audit_events where event_type = 'change_failed'`); n != 0 {
		t.Errorf("%d changes failed: the shutdown cut the step in flight short", n)
	}
	if n := count(t, db, `select count(*) from intents where state = 'pending'`); n != 0 {
		t.Errorf("%d create intents left pending", n)
	}
	if mk, pw := env.Emu.MakeConnectionCount(), env.Emu.ConnectorCount(); mk != 4 || pw != 4 {
		t.Errorf("%d Make connections and %d Patchworks connectors after the finished step, want 4 and 4", mk, pw)
	}
}

// SIGHUP (the Reload channel) reconciles now, with trigger signal.
func TestReloadSignalReconciles(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	db := pool(t, env)
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport})
	d.waitReady(t)
	if n := count(t, db, `select count(*) from runs where trigger = 'signal'`); n != 0 {
		t.Fatalf("%d signal runs before any signal", n)
	}
	d.sighup()
	waitFor(t, "a finished signal run", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'signal' and finished_at is not null`) == 1
	})
	got := events(t, db, `r.trigger = 'signal' and e.event_type in ('run_started', 'run_finished')`)
	if len(got) != 2 || got[0].Type != "run_started" || got[1].Type != "run_finished" {
		t.Errorf("signal run events %+v, want run_started and run_finished", got)
	}
	// The run's rows are written before the daemon updates its status:
	// /v1/status says so a moment later.
	var runID string
	if err := db.QueryRow(context.Background(), `select id from runs where trigger = 'signal'`).Scan(&runID); err != nil {
		t.Fatal(err)
	}
	var last *daemon.RunStatus
	waitFor(t, "/v1/status to show the signal run", func() bool {
		last = d.status(t).LastRun
		return last != nil && last.ID == runID
	})
	if last.Trigger != "signal" {
		t.Errorf("/v1/status last run %+v, want trigger signal", last)
	}
}

// A bad schedule is a clear error from New, never a panic; good ones pass.
func TestScheduleValidation(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr bool
	}{
		{spec: "TZ=UTC", wantErr: true},
		{spec: "CRON_TZ=", wantErr: true},
		{spec: "CRON_TZ=Nowhere/Else 0 * * * *", wantErr: true},
		{spec: "* * *", wantErr: true},
		{spec: "@every nonsense", wantErr: true},
		{spec: "@every -1s", wantErr: true},
		{spec: "@every 0s", wantErr: true},
		{spec: "@every 100ms", wantErr: true},
		{spec: "CRON_TZ=UTC @every 0s", wantErr: true},
		{spec: "@yearly-ish", wantErr: true},
		{spec: "61 * * * *", wantErr: true},
		{spec: "@every 1s"},
		{spec: "@every 5m"},
		{spec: "*/5 * * * *"},
		{spec: "CRON_TZ=Europe/London 0 3 * * *"},
		{spec: "@hourly"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("New panicked: %v", r)
					}
				}()
				_, err = daemon.New(daemon.Options{Mode: syncd.ModeReport, Schedule: tc.spec})
			}()
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(schedule %q) error %v, want error %v", tc.spec, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "schedule") {
				t.Errorf("error %q does not say it is about the schedule", err)
			}
		})
	}
}

// Triggers that arrive while a reconcile runs coalesce into one more
// reconcile, never a backlog, and reconciles never overlap.
func TestTriggersDuringARunCoalesce(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "patchworks/shop.yaml", testenv.PatchworksDoc("shop", "Shop"))
	db := pool(t, env)
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport})
	d.waitReady(t)

	// Every platform request now takes a second: the run below is still
	// in flight when the other triggers arrive.
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.Latency = time.Second })
	d.sighup()
	waitFor(t, "the first signal run to start", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'signal'`) == 1
	})
	for range 5 {
		d.sighup()
	}
	env.Write(t, "patchworks/shop.yaml", strings.Replace(testenv.PatchworksDoc("shop", "Shop"), "Europe/London", "Europe/Paris", 1))
	env.Write(t, "patchworks/erp.yaml", testenv.PatchworksDoc("erp", "ERP"))
	waitFor(t, "a second signal run to finish", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'signal' and finished_at is not null`) == 2
	})
	env.Emu.UpdateKnobs(func(k *emulator.Knobs) { k.Latency = 0 })
	// A barrier instead of a pause: a new file's watch trigger runs as a
	// "watch" run only if no trigger is left pending; a wrongly queued
	// signal would absorb it (a merged trigger keeps the full reason) or
	// run before it.
	env.Write(t, "patchworks/sentinel.yaml", testenv.PatchworksDoc("sentinel", "Sentinel"))
	waitFor(t, "the sentinel's watch run to finish", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'watch' and finished_at is not null`) == 1
	})
	waitFor(t, "every run to finish", func() bool {
		return count(t, db, `select count(*) from runs where finished_at is null`) == 0
	})
	if n := count(t, db, `select count(*) from runs where trigger not in ('startup', 'watch')`); n != 2 {
		t.Errorf("%d runs after the triggers, want 2 (the one in flight and one merged)", n)
	}
	// The merged run covered the watched edits: both files were planned.
	got := events(t, db, `e.event_type = 'change_planned' and e.run_id = (
		select id from runs where trigger = 'signal' order by started_at desc limit 1)`)
	var names []string
	for _, e := range got {
		names = append(names, e.Action+" "+e.Name)
	}
	if diff := cmp.Diff([]string{"create erp", "create shop"}, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("changes planned by the merged run (-want +got):\n%s", diff)
	}
	noOverlappingRuns(t, db)
}

// Run reports a bad start (an address in use, a missing manifests
// directory) as an error instead of running without it.
func TestRunStartErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name    string
		opts    daemon.Options
		wantErr string
	}{
		{name: "address in use", opts: daemon.Options{ManifestsDir: t.TempDir(), Listen: taken.Addr().String()}, wantErr: "listen"},
		{name: "no manifests directory", opts: daemon.Options{ManifestsDir: filepath.Join(t.TempDir(), "missing")}, wantErr: "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Mode = syncd.ModeReport
			d, err := daemon.New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			err = d.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Run returned %v, want an error about %q", err, tc.wantErr)
			}
		})
	}
}
