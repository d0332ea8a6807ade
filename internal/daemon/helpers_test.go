package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/internal/watch"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitTimeout bounds every wait for a condition: generous, because the
// machine is shared and the race detector slows everything down; a passing
// test never waits that long.
const waitTimeout = 30 * time.Second

// syncBuffer collects the daemon's log lines from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is an in-process daemon started by startDaemon.
type running struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	reload chan struct{}
	logs   *syncBuffer

	stopOnce sync.Once
	stopErr  error
}

// startDaemon runs a daemon over env with test defaults filled into opts
// (manifests directory, runner, store, secrets, an ephemeral listener, a
// short watcher debounce, report mode) and returns once it is serving.
// It is stopped when the test ends.
func startDaemon(t *testing.T, env *testenv.Env, opts daemon.Options) *running {
	t.Helper()
	r := &running{done: make(chan error, 1), reload: make(chan struct{}, 1), logs: &syncBuffer{}}
	if opts.ManifestsDir == "" {
		opts.ManifestsDir = env.Dir
	}
	if opts.Runner == nil {
		opts.Runner = env.Runner
	}
	if opts.Store == nil {
		opts.Store = env.Store
	}
	if opts.Getenv == nil {
		opts.Getenv = env.Getenv
	}
	if opts.Mode == "" {
		opts.Mode = syncd.ModeReport
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Watch == (watch.Options{}) {
		opts.Watch = watch.Options{Quiet: 50 * time.Millisecond, MaxDelay: time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts.Reload = r.reload
	addr := make(chan string, 1)
	ready := opts.Ready
	opts.Ready = func(a string) {
		if ready != nil {
			ready(a)
		}
		addr <- a
	}
	d, err := daemon.New(opts)
	if err != nil {
		t.Fatalf("daemon.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- d.Run(ctx) }()
	select {
	case r.addr = <-addr:
	case err := <-r.done:
		cancel()
		t.Fatalf("daemon stopped before serving: %v", err)
	case <-time.After(waitTimeout):
		cancel()
		t.Fatal("daemon did not start serving")
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("daemon stop: %v", err)
		}
	})
	return r
}

// stop cancels the daemon and returns what Run returned.
func (r *running) stop() error {
	r.stopOnce.Do(func() {
		r.cancel()
		select {
		case r.stopErr = <-r.done:
		case <-time.After(waitTimeout):
			r.stopErr = fmt.Errorf("Run did not return within %s of cancellation", waitTimeout)
		}
	})
	return r.stopErr
}

// sighup does what `syncd run` does on SIGHUP.
func (r *running) sighup() { r.reload <- struct{}{} }

// get fetches a path from the daemon's HTTP server.
func (r *running) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + r.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// waitReady waits until /readyz answers 200 (the first reconcile is done).
func (r *running) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "/readyz to answer 200", func() bool {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// pool opens the test's audit database for SQL assertions.
func pool(t *testing.T, env *testenv.Env) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), env.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// count runs a `select count(*) ...` query.
func count(t *testing.T, db *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// event is the part of an audit row the tests compare.
type event struct {
	Type, Kind, Name, Action, Outcome, Mode, Revision, Trigger string
}

// events lists the audit rows matching where (a condition over
// audit_events e and runs r), in order.
func events(t *testing.T, db *pgxpool.Pool, where string, args ...any) []event {
	t.Helper()
	q := `select e.event_type, coalesce(e.resource_kind, ''), coalesce(e.resource_name, ''),
	             coalesce(e.action, ''), coalesce(e.outcome, ''), coalesce(e.mode, ''),
	             coalesce(e.manifest_revision, ''), coalesce(r.trigger, '')
	        from audit_events e left join runs r on r.id = e.run_id
	       where ` + where + ` order by e.id`
	rows, err := db.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("events where %s: %v", where, err)
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.Type, &e.Kind, &e.Name, &e.Action, &e.Outcome, &e.Mode, &e.Revision, &e.Trigger); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// applyAll converges the emulator to env's manifests before a daemon
// starts, so that the daemon's own runs begin from owned, in-sync objects.
func applyAll(t *testing.T, env *testenv.Env) {
	t.Helper()
	res, err := env.Reconcile(t, context.Background(), syncd.ModeApply, false)
	if err != nil {
		t.Fatalf("initial apply: %v", err)
	}
	if res.Report.Failed > 0 {
		t.Fatalf("initial apply: %d changes failed: %+v", res.Report.Failed, res.Report.Results)
	}
}

// remoteID is the remote object bound to a resource in the inventory.
func remoteID(t *testing.T, db *pgxpool.Pool, kind syncd.Kind, name string) string {
	t.Helper()
	var id string
	if err := db.QueryRow(context.Background(), `select remote_id from inventory where kind = $1 and name = $2`, string(kind), name).Scan(&id); err != nil {
		t.Fatalf("inventory %s/%s: %v", kind, name, err)
	}
	return id
}

// noSecrets fails when any of the test secrets appears in s.
func noSecrets(t *testing.T, where, s string, secrets ...string) {
	t.Helper()
	for _, sec := range append([]string{testenv.SecretA, testenv.SecretB}, secrets...) {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains the secret value %q", where, sec)
		}
	}
}

// noOverlappingRuns fails when two runs of this database were in progress
// at the same time.
func noOverlappingRuns(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	if n := count(t, db, `select count(*) from runs a join runs b on a.id < b.id and a.actor = b.actor
		where a.started_at < coalesce(b.finished_at, 'infinity') and b.started_at < coalesce(a.finished_at, 'infinity')`); n != 0 {
		t.Errorf("%d pairs of runs overlapped", n)
	}
}
