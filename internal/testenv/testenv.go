// Package testenv assembles a complete syncd for tests and benchmarks: the
// API emulator on a real HTTP listener and, over it, the stack the commands
// run (internal/stack: the real platform clients, a real PostgreSQL audit
// store from pgtest, the engine, the executor and the reconcile runner),
// over a manifests directory of real files. It is imported only by tests
// and benchmarks.
package testenv

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/syncd"
)

// Secret values the default environment resolves; tests grep outputs for them.
const (
	SecretA = "s3cr3t-value-AAAA-never-print"
	SecretB = "s3cr3t-value-BBBB-never-print"
)

// Options tune an Env.
type Options struct {
	Knobs emulator.Knobs
	// DatabaseURL overrides the fresh pgtest database.
	DatabaseURL string
	// Env resolves ${env:} references; default: SECRET_A and SECRET_B.
	Env map[string]string
	// Concurrency of clients (default 8) and RPM (default: unlimited).
	Concurrency int
	RPM         int
	// Retry for the clients; default: fast retries for tests.
	Retry *transport.Retry
	// Timeout per request (default 2s).
	Timeout time.Duration
	// Settings are platforms' settings values by platform name, set over
	// those that point each platform at the emulator (emulatorSettings):
	// {"make": {"make-quota-share": 0.5}} paces Make at half its rate.
	Settings map[string]platform.Values
	// MakeApps exist on the emulator (Make answers 404 for any other
	// app); nil means DefaultMakeApps.
	MakeApps []string
}

// DefaultMakeApps are the Make apps an Env's emulator has unless
// Options.MakeApps says otherwise: those the tests' manifests use.
var DefaultMakeApps = []string{"a", "acme", "acme-crm", "app", "app-one", "app-two", "crm", "fuzz-app", "scan-app", "the"}

// Env is a running syncd stack: the one the commands run (its Store,
// Providers, Hasher, Engine, Executor and Runner) over the emulator.
type Env struct {
	*stack.Stack
	Emu      *emulator.Server
	HTTP     *httptest.Server
	DB       string
	SpoolDir string
	Dir      string // manifests directory
	Getenv   func(string) (string, bool)
	Config   engine.Config
}

// New starts an Env; everything is torn down by t.Cleanup.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	apps := opts.MakeApps
	if apps == nil {
		apps = DefaultMakeApps
	}
	emu := emulator.New(emulator.Options{Knobs: opts.Knobs, Seed: 1, MakeApps: apps})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	e := &Env{Emu: emu, HTTP: srv, Dir: t.TempDir(), SpoolDir: t.TempDir()}
	e.DB = opts.DatabaseURL
	if e.DB == "" {
		e.DB = pgtest.Database(t)
	}
	env := opts.Env
	if env == nil {
		env = map[string]string{"SECRET_A": SecretA, "SECRET_B": SecretB}
	}
	e.Getenv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	retry := transport.Retry{MaxAttempts: 6, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	if opts.Retry != nil {
		retry = *opts.Retry
	}
	conc := opts.Concurrency
	if conc == 0 {
		conc = 8
	}
	rpm := opts.RPM
	if rpm == 0 {
		rpm = 6_000_000
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	e.Config = engine.Config{Burst: conc, Concurrency: conc, Timeout: timeout, Retry: retry}
	for name, v := range emulatorSettings(srv.URL, rpm) {
		e.Config.Set(name, v)
	}
	for name, v := range opts.Settings {
		e.Config.Set(name, v)
	}
	st, err := stack.Open(context.Background(), stack.Config{
		Platforms: e.Config, DatabaseURL: e.DB, RequireSchema: true,
		Store:  audit.Options{SpoolDir: e.SpoolDir, FlushInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)},
		Runner: stack.Settings{TestConnectors: true, Actor: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Store.Close() })
	e.Stack = st
	return e
}

// Write writes a file under the manifests directory.
func (e *Env) Write(t testing.TB, rel, content string) {
	t.Helper()
	p := filepath.Join(e.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Remove deletes a file under the manifests directory.
func (e *Env) Remove(t testing.TB, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(e.Dir, rel)); err != nil {
		t.Fatal(err)
	}
}

// Load loads the manifests directory; load errors are in Set.Errors.
func (e *Env) Load(t testing.TB) *desired.Set {
	t.Helper()
	set, _ := desired.Load(e.Dir, desired.Options{Getenv: e.Getenv})
	if set == nil {
		t.Fatal("manifests directory unreadable")
	}
	return set
}

// Reconcile runs one reconcile of the whole directory.
func (e *Env) Reconcile(t testing.TB, ctx context.Context, mode syncd.Mode, prune bool) (*reconcile.Result, error) {
	t.Helper()
	return e.Runner.Once(ctx, reconcile.Request{Trigger: "test", Mode: mode, Set: e.Load(t), Prune: prune})
}

// Plan plans the whole directory against the inventory (read-only).
func (e *Env) Plan(t testing.TB, prune bool) *planner.Plan {
	t.Helper()
	ctx := context.Background()
	b, err := e.State.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Engine.Plan(ctx, engine.PlanRequest{Set: e.Load(t), Bindings: b, Prune: prune})
	if err != nil {
		t.Fatal(err)
	}
	return res.Plan
}
