package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// flagWait bounds the waits of these tests: generous for a shared machine
// under the race detector; a passing test never waits that long.
const flagWait = 60 * time.Second

// syncdEnv is the environment syncdCmd gives the binary.
func syncdEnv(t *testing.T, e *testenv.Env) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1",
		"SYNCD_MAKE_URL=" + e.HTTP.URL + "/api/v2", "SYNCD_MAKE_TOKEN=" + emulator.DefaultMakeToken,
		"SYNCD_PATCHWORKS_URL=" + e.HTTP.URL, "SYNCD_PATCHWORKS_TOKEN=" + emulator.DefaultPatchworksToken,
		"SYNCD_DATABASE_URL=" + e.DB, "SYNCD_MANIFESTS=" + e.Dir, "SYNCD_SPOOL_DIR=" + t.TempDir(),
		"SYNCD_MAKE_RPM=600000", "SYNCD_PATCHWORKS_RPM=600000",
		"SECRET_A=" + testenv.SecretA, "SECRET_B=" + testenv.SecretB}
}

// lockedOutput collects a child's output written while the test reads it.
type lockedOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *lockedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *lockedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// dbInt runs a one-number query on the test database.
func dbInt(t *testing.T, dsn, query string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// pollUntil polls cond until it holds and fails loudly after flagWait.
func pollUntil(t *testing.T, what string, out *lockedOutput, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(flagWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; output:\n%s", flagWait, what, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// twoAppliedThenRemoved applies two Make connections, then removes both
// manifests: a pruning plan deletes 2, within the default limit (5).
func twoAppliedThenRemoved(t *testing.T) *testenv.Env {
	t.Helper()
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "apikey"))
	if res, err := e.Reconcile(t, context.Background(), syncd.ModeApply, false); err != nil || !res.Report.OK() {
		t.Fatalf("setup apply: %v %+v", err, res)
	}
	if n := e.Emu.MakeConnectionCount(); n != 2 {
		t.Fatalf("setup: %d connections, want 2", n)
	}
	e.Remove(t, "a.yaml")
	e.Remove(t, "b.yaml")
	return e
}

// runStartup runs `syncd run` until its startup run has finished, then
// stops it with SIGTERM.
func runStartup(t *testing.T, e *testenv.Env, args ...string) string {
	t.Helper()
	before := dbInt(t, e.DB, `select count(*) from runs where trigger = 'startup' and finished_at is not null`)
	cmd := exec.Command(syncdBin, append([]string{"run", "--schedule", "", "--listen", ""}, args...)...)
	cmd.Env = syncdEnv(t, e)
	out := &lockedOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(flagWait):
			_ = cmd.Process.Kill()
			t.Errorf("syncd run did not stop on SIGTERM")
		}
	}()
	pollUntil(t, "the startup run to finish", out, func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("syncd run exited early (%v):\n%s", err, out)
		default:
		}
		return dbInt(t, e.DB, `select count(*) from runs where trigger = 'startup' and finished_at is not null`) > before
	})
	return out.String()
}

// TestMaxDeleteFlagsReachThePlanner: --max-delete 1 blocks a plan of two
// deletes (which the default limit of 5 allows) and --allow-mass-delete
// lifts it, in plan, apply and run alike.
func TestMaxDeleteFlagsReachThePlanner(t *testing.T) {
	const blocked = "more than --max-delete 1"
	t.Run("plan", func(t *testing.T) {
		e := twoAppliedThenRemoved(t)
		if r := syncdCmd(t, e, nil, "plan", "--prune"); r.code != 0 || strings.Contains(r.stdout, "more than --max-delete") || !strings.Contains(r.stdout, "2 to delete") {
			t.Errorf("plan --prune (default limit): exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := syncdCmd(t, e, nil, "plan", "--prune", "--max-delete", "1"); !strings.Contains(r.stdout+r.stderr, blocked) {
			t.Errorf("plan --prune --max-delete 1 does not block the deletes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		// Blocked deletes are still out of sync: a pull-request check must
		// not read them as "no changes".
		if r := syncdCmd(t, e, nil, "plan", "--prune", "--max-delete", "1", "--detailed-exitcode"); r.code != 2 || !strings.Contains(r.stdout+r.stderr, blocked) {
			t.Errorf("plan --detailed-exitcode with only blocked deletes: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := syncdCmd(t, e, nil, "plan", "--prune", "--max-delete", "1", "--allow-mass-delete"); r.code != 0 || strings.Contains(r.stdout+r.stderr, blocked) {
			t.Errorf("plan --allow-mass-delete still blocks: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("apply", func(t *testing.T) {
		e := twoAppliedThenRemoved(t)
		r := syncdCmd(t, e, nil, "apply", "--auto-approve", "--prune", "--max-delete", "1")
		if n := e.Emu.MakeConnectionCount(); n != 2 || !strings.Contains(r.stdout+r.stderr, blocked) {
			t.Fatalf("apply --max-delete 1 left %d of 2 connections: exit %d\n%s%s", n, r.code, r.stdout, r.stderr)
		}
		r = syncdCmd(t, e, nil, "apply", "--auto-approve", "--prune", "--max-delete", "1", "--allow-mass-delete")
		if n := e.Emu.MakeConnectionCount(); r.code != 0 || n != 0 {
			t.Fatalf("apply --allow-mass-delete left %d connections: exit %d\n%s%s", n, r.code, r.stdout, r.stderr)
		}
	})
	t.Run("run", func(t *testing.T) {
		e := twoAppliedThenRemoved(t)
		out := runStartup(t, e, "--mode", "apply", "--prune", "--max-delete", "1")
		if n := e.Emu.MakeConnectionCount(); n != 2 {
			t.Fatalf("run --max-delete 1 left %d of 2 connections:\n%s", n, out)
		}
		if n := dbInt(t, e.DB, `select count(*) from audit_events where action = 'delete' and error like '%' || $1 || '%'`, blocked); n != 2 {
			t.Errorf("%d audit rows record the blocked deletes, want 2:\n%s", n, out)
		}
		out = runStartup(t, e, "--mode", "apply", "--prune", "--max-delete", "1", "--allow-mass-delete")
		if n := e.Emu.MakeConnectionCount(); n != 0 {
			t.Fatalf("run --allow-mass-delete left %d connections:\n%s", n, out)
		}
	})
}

// TestApplyLockTimeoutWaitsThenProceeds: with the apply lock held, `apply
// --lock-timeout` keeps trying instead of failing, and applies once the
// holder lets go.
func TestApplyLockTimeoutWaitsThenProceeds(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	release, err := pglock.AcquireApplyLock(context.Background(), e.DB, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cmd := exec.Command(syncdBin, "apply", "--auto-approve", "--lock-timeout", "10m")
	cmd.Env = syncdEnv(t, e)
	out := &lockedOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	// The holder's session and the waiting apply's both last asked for
	// the lock: two such sessions mean the apply is waiting for it.
	pollUntil(t, "apply to try the lock", out, func() bool {
		select {
		case err := <-done:
			t.Fatalf("apply did not wait for the lock (%v):\n%s", err, out)
		default:
		}
		return dbInt(t, e.DB, `select count(*) from pg_stat_activity where query like '%pg_try_advisory_lock%' and pid <> pg_backend_pid()`) >= 2
	})
	if n := e.Emu.MakeConnectionCount(); n != 0 {
		t.Fatalf("apply wrote %d connections while another held the lock", n)
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("apply after the lock was released: %v\n%s", err, out)
		}
	case <-time.After(flagWait):
		t.Fatalf("apply did not finish within %s of the lock's release:\n%s", flagWait, out)
	}
	if n := e.Emu.MakeConnectionCount(); n != 1 {
		t.Fatalf("%d connections after the apply, want 1:\n%s", n, out)
	}
}

// TestRequireFreshRefusesTheWholePlan: one of two planned creates goes
// stale (its manifest changed). Plain apply of the plan file creates the
// fresh one only; with --require-fresh it creates nothing.
func TestRequireFreshRefusesTheWholePlan(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "a.yaml", testenv.MakeDoc("conn-a", "app-one", "Conn A", "apikey"))
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B", "apikey"))
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if r := syncdCmd(t, e, nil, "plan", "--out", planFile); r.code != 0 {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r.stderr)
	}
	e.Write(t, "b.yaml", testenv.MakeDoc("conn-b", "app-one", "Conn B changed", "apikey"))

	r := syncdCmd(t, e, nil, "apply", "--require-fresh", planFile)
	if n := e.Emu.MakeConnectionCount(); n != 0 || r.code == 0 {
		t.Fatalf("apply --require-fresh of a half-stale plan: exit %d, %d connections created, want a refusal and none\n%s%s", r.code, n, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout+r.stderr, "stale") {
		t.Errorf("the refusal does not say the plan is stale:\n%s%s", r.stdout, r.stderr)
	}
	r = syncdCmd(t, e, nil, "apply", planFile)
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 1 || conns[0].Label != "Conn A" {
		t.Fatalf("apply without --require-fresh: exit %d, connections %+v, want only Conn A\n%s%s", r.code, conns, r.stdout, r.stderr)
	}
}
