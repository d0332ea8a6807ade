package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/testenv"
)

// TestRunOnceForCron: `syncd run --once` is one reconcile exactly as the
// daemon does it — run row, change_planned, drift opened and resolved —
// with an exit code for cron: 0 in sync, 2 (--detailed-exitcode) while
// drift or changes remain. Each drift opened or resolved is logged with
// its field paths and never a value.
func TestRunOnceForCron(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "x.yaml", testenv.PatchworksDoc("pw-x", "Shop X"))
	query := func(sql string, args ...any) int {
		t.Helper()
		db, err := pgx.Connect(context.Background(), e.DB)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(context.Background())
		var n int
		if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	step := func(what string, want int, args ...string) result {
		t.Helper()
		r := syncdCmd(t, e, nil, args...)
		if r.code != want {
			t.Fatalf("%s: syncd %s: exit %d, want %d\n%s%s", what, strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
		}
		return r
	}

	// Nothing exists yet: a report leaves two creates pending.
	step("report before apply", 2, "run", "--once", "--detailed-exitcode")
	step("report without --detailed-exitcode", 0, "run", "--once")
	if n := e.Emu.MakeConnectionCount() + e.Emu.ConnectorCount(); n != 0 {
		t.Fatalf("report mode wrote %d objects", n)
	}
	if n := query(`select count(*) from audit_events where event_type = 'change_planned' and outcome = 'report_only'`); n < 2 {
		t.Errorf("%d report_only change_planned rows, want at least 2", n)
	}
	step("apply", 0, "run", "--once", "--mode", "apply", "--detailed-exitcode")
	if e.Emu.MakeConnectionCount() != 1 || e.Emu.ConnectorCount() != 1 {
		t.Fatalf("apply: make %d, patchworks %d", e.Emu.MakeConnectionCount(), e.Emu.ConnectorCount())
	}
	step("in sync", 0, "run", "--once", "--detailed-exitcode")
	step("no drift", 0, "drift", "--detailed-exitcode")

	// A hand-made change, secret included, opens a drift.
	conns := e.Emu.MakeConnections("app-one")
	label, handSecret := "Edited by hand", "hand-typed-secret-value-42"
	if err := e.Emu.EditMakeConnection(conns[0].Name, emulatorEdit(label, handSecret)); err != nil {
		t.Fatal(err)
	}
	r := step("drift", 2, "run", "--once", "--detailed-exitcode")
	if !strings.Contains(r.stderr, "drift opened") || !strings.Contains(r.stderr, "MakeConnection/conn-a") ||
		!strings.Contains(r.stderr, "/label") || !strings.Contains(r.stderr, "/common/clientSecret") {
		t.Errorf("the opened drift is not logged with its paths:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, handSecret) {
		t.Errorf("output holds the hand-typed secret:\n%s%s", r.stdout, r.stderr)
	}
	if got := e.Emu.MakeConnections("app-one")[0].Label; got != label {
		t.Errorf("report mode reverted the label to %q", got)
	}
	step("drift is open", 2, "drift", "--detailed-exitcode")
	step("drift again", 2, "run", "--once", "--detailed-exitcode")
	if n := query(`select count(*) from drift where kind = 'MakeConnection' and name = 'conn-a' and resolved_at is null and occurrences = 2`); n != 1 {
		t.Errorf("%d open drift episodes of conn-a seen twice, want 1", n)
	}

	// Reverted by hand: the next report resolves it.
	orig := "Conn A"
	if err := e.Emu.EditMakeConnection(conns[0].Name, emulatorEdit(orig, testenv.SecretA)); err != nil {
		t.Fatal(err)
	}
	r = step("reverted", 0, "run", "--once", "--detailed-exitcode")
	if !strings.Contains(r.stderr, "drift resolved") || !strings.Contains(r.stderr, "reverted") {
		t.Errorf("the resolved drift is not logged:\n%s", r.stderr)
	}
	step("no drift left", 0, "drift", "--detailed-exitcode")
	if n := query(`select count(*) from audit_events where event_type in ('drift_detected', 'drift_resolved') and resource_name = 'conn-a'`); n != 2 {
		t.Errorf("%d drift events of conn-a, want 2 (detected, resolved)", n)
	}
	if n := query(`select count(*) from runs where trigger = 'once' and finished_at is not null`); n != 7 {
		t.Errorf("%d finished runs with trigger once, want 7", n)
	}
	if n := query(`select count(*) from runs where trigger = 'once' and outcome <> 'ok'`); n != 0 {
		t.Errorf("%d runs not ok", n)
	}
	step("needs --once", 1, "run", "--detailed-exitcode")
}

func emulatorEdit(label, secret string) emulator.MakeEdit {
	return emulator.MakeEdit{Label: &label, Common: map[string]any{"clientId": "id-conn-a", "clientSecret": secret}}
}

// TestRunOnceApplyWaitsForTheLock: `run --once --mode apply` takes the
// apply lock like `syncd apply`: it refuses at once while another syncd
// applies, and with --lock-timeout (which its refusal tells the user to
// raise) it waits for the lock and then converges.
func TestRunOnceApplyWaitsForTheLock(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	release, err := pglock.AcquireApplyLock(context.Background(), e.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { release() }()

	r := syncdCmd(t, e, nil, "run", "--once", "--mode", "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "another syncd is applying") || e.Emu.MakeConnectionCount() != 0 {
		t.Fatalf("run --once --mode apply beside a lock holder: exit %d, objects %d\n%s", r.code, e.Emu.MakeConnectionCount(), r.stderr)
	}

	done := make(chan result, 1)
	go func() { done <- syncdCmd(t, e, nil, "run", "--once", "--mode", "apply", "--lock-timeout", "10m") }()
	// It is waiting once a second session has asked for the lock.
	db, err := pgx.Connect(context.Background(), e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var askers int
		if err := db.QueryRow(context.Background(), `select count(*) from pg_stat_activity where query like 'select pg_try_advisory_lock%'`).Scan(&askers); err != nil {
			t.Fatal(err)
		}
		if askers >= 2 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("run --once --lock-timeout 10m ended before the lock was free: exit %d\n%s", r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("run --once --lock-timeout 10m never asked for the apply lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	release()
	release = func() {}
	select {
	case r := <-done:
		if r.code != 0 || e.Emu.MakeConnectionCount() != 1 {
			t.Fatalf("run --once --mode apply after the lock was freed: exit %d, objects %d\n%s", r.code, e.Emu.MakeConnectionCount(), r.stderr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("run --once --lock-timeout 10m did not take the freed lock")
	}
}
