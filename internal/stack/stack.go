package stack

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// Config is what the writing stack is built from.
type Config struct {
	// Platforms says how to reach the platforms; every configured one of
	// the registry gets a client.
	Platforms platform.Config
	// DatabaseURL is the database of the audit log and the state store.
	DatabaseURL string
	// Store configures the audit store. Its ChainKey is filled in from
	// ChainKey.
	Store audit.Options
	// ChainKey, when set, gives the key of the audit hash chain; it is
	// asked for after the platform clients are built and before the
	// store is opened, so that errors come in that order.
	ChainKey func() ([]byte, error)
	// RequireSchema fails Open when the database cannot be migrated.
	// Otherwise the failure goes to OnMigrateError and the stack opens
	// anyway: events spool until the database is back.
	RequireSchema  bool
	OnMigrateError func(error)
	// HMACKey keys the hashes of secrets (SYNCD_HMAC_KEY); nil takes the
	// key kept in the database, created on first use.
	HMACKey []byte
	Runner  Settings
}

// Settings tune the executor and the runner.
type Settings struct {
	Concurrency    int  // resources written at once; default 4
	TestConnectors bool // probe Patchworks connectors after writing them
	Logger         *slog.Logger
	Actor          string
}

// Stack is a writing syncd: everything `syncd run` and `syncd apply` need,
// wired together.
type Stack struct {
	Store     *audit.Store // the audit log; it owns the connection
	State     *state.Store // inventory, intents and the HMAC key, on Store's connection
	Providers map[syncd.Kind]platform.Provider
	Hasher    syncd.Hasher
	Engine    *engine.Engine
	Executor  *executor.Executor
	Runner    *reconcile.Runner
}

// Open builds the writing stack: the platform clients, the audit log
// (migrated) and the state store on its connection, the hasher, the
// engine, the executor and the runner.
func Open(ctx context.Context, c Config) (*Stack, error) {
	providers, err := engine.Providers(c.Platforms)
	if err != nil {
		return nil, err
	}
	opts := c.Store
	if c.ChainKey != nil {
		if opts.ChainKey, err = c.ChainKey(); err != nil {
			return nil, err
		}
	}
	store, err := audit.Open(ctx, c.DatabaseURL, opts)
	if err != nil {
		return nil, fmt.Errorf("audit store: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		if c.RequireSchema {
			store.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if c.OnMigrateError != nil {
			c.OnMigrateError(err)
		}
	}
	st := state.New(store.DB(), store, opts.Now)
	hasher, err := hasherFrom(ctx, c.HMACKey, st)
	if err != nil {
		store.Close()
		return nil, err
	}
	return Wire(store, st, providers, hasher, c.Runner), nil
}

// Wire assembles the engine, the executor and the runner over the audit
// log, the state store, the platform clients and a hasher: the audit log
// is the executor's recorder and drift resolver and the runner's books;
// the state store is the executor's inventory and intent journal and the
// inventory the runner plans against. Tests that swap a provider for a
// faulty one wire here.
func Wire(store *audit.Store, st *state.Store, providers map[syncd.Kind]platform.Provider, hasher syncd.Hasher, s Settings) *Stack {
	eng := &engine.Engine{Providers: providers, Hasher: hasher, Logger: s.Logger}
	x := &executor.Executor{
		Providers: providers, Rules: registry.Rules(), Recorder: store, Inventory: st, Journal: st, Drift: store,
		Hasher: hasher, Concurrency: s.Concurrency, TestConnectors: s.TestConnectors, Logger: s.Logger,
	}
	r := &reconcile.Runner{Engine: eng, Executor: x, Store: store, State: st, Logger: s.Logger, Actor: s.Actor}
	return &Stack{Store: store, State: st, Providers: providers, Hasher: hasher, Engine: eng, Executor: x, Runner: r}
}

// Close flushes the spooled events (for at most 30 seconds) and closes
// the audit log, and with it the connection the state store shares.
func (s *Stack) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.Store.Flush(ctx)
	_ = s.Store.Close()
}

// hasherFrom prefers key and otherwise uses the key kept in the database
// (generated on first use), so that every replica and every CLI run
// against one database hashes alike.
func hasherFrom(ctx context.Context, key []byte, st *state.Store) (syncd.Hasher, error) {
	if key != nil {
		return syncd.NewHasher(key), nil
	}
	kept, err := st.HMACKey(ctx)
	if err != nil {
		return syncd.Hasher{}, fmt.Errorf("hmac key: set SYNCD_HMAC_KEY or make the database reachable: %w", err)
	}
	return syncd.NewHasher(kept), nil
}

// Admin is the writing assembly of `syncd inventory forget` and `syncd
// inventory bind`: the state store, on the audit log's connection, whose
// changes the audit log records. It has no platform clients and no runner.
type Admin struct {
	State *state.Store
	store *audit.Store
}

// OpenAdmin opens the audit log (migrating it when opts asks) and the state
// store over it.
func OpenAdmin(ctx context.Context, databaseURL string, opts audit.Options) (*Admin, error) {
	store, err := audit.Open(ctx, databaseURL, opts)
	if err != nil {
		return nil, err
	}
	return &Admin{State: state.New(store.DB(), store, opts.Now), store: store}, nil
}

// Close flushes the spooled events and closes the audit log, as
// Stack.Close does.
func (a *Admin) Close() { (&Stack{Store: a.store}).Close() }

// Discard closes the audit log without waiting for the spool beyond its
// own last short attempt, after a failure before any write.
func (a *Admin) Discard() { _ = a.store.Close() }
