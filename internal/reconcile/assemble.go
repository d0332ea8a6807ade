package reconcile

import (
	"log/slog"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// Settings tune a Runner built by New.
type Settings struct {
	Concurrency    int  // resources written at once; default 4
	TestConnectors bool // probe Patchworks connectors after writing them
	Logger         *slog.Logger
	Actor          string
}

// New wires a Runner: engine and executor over providers, with the audit
// store as recorder, inventory, intent journal (syncd.Intent, no adapter)
// and drift resolver.
func New(store *audit.Store, providers map[syncd.Kind]platform.Provider, hasher syncd.Hasher, s Settings) *Runner {
	eng := &engine.Engine{Providers: providers, Hasher: hasher, Logger: s.Logger}
	x := &executor.Executor{
		Providers: providers, Rules: registry.Rules(), Recorder: store, Inventory: store, Journal: store, Drift: store,
		Hasher: hasher, Concurrency: s.Concurrency, TestConnectors: s.TestConnectors, Logger: s.Logger,
	}
	return &Runner{Engine: eng, Executor: x, Store: store, Logger: s.Logger, Actor: s.Actor}
}
