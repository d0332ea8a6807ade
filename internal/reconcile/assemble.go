package reconcile

import (
	"context"
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
// store as recorder, inventory, intent journal and drift resolver.
func New(store *audit.Store, providers map[syncd.Kind]platform.Provider, hasher syncd.Hasher, s Settings) *Runner {
	eng := &engine.Engine{Providers: providers, Hasher: hasher, Logger: s.Logger}
	x := &executor.Executor{
		Providers: providers, Rules: registry.Rules(), Recorder: store, Inventory: store, Journal: Journal{store}, Drift: store,
		Hasher: hasher, Concurrency: s.Concurrency, TestConnectors: s.TestConnectors, Logger: s.Logger,
	}
	return &Runner{Engine: eng, Executor: x, Store: store, Logger: s.Logger, Actor: s.Actor}
}

// Journal adapts the audit store's intents to the executor's Journal.
type Journal struct{ Store *audit.Store }

func (j Journal) BeginIntent(ctx context.Context, in executor.Intent) (int64, error) {
	return j.Store.BeginIntent(ctx, audit.Intent{Key: in.Key, NaturalKey: in.NaturalKey, Action: in.Action, RemoteID: in.OldRemoteID, State: executor.IntentPending})
}

func (j Journal) FinishIntent(ctx context.Context, id int64, state, remoteID, errText string) error {
	return j.Store.FinishIntent(ctx, id, state, remoteID, errText)
}

func (j Journal) PendingIntents(ctx context.Context) ([]executor.Intent, error) {
	pending, err := j.Store.PendingIntents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]executor.Intent, len(pending))
	for i, p := range pending {
		out[i] = executor.Intent{ID: p.ID, Key: p.Key, NaturalKey: p.NaturalKey, Action: p.Action, OldRemoteID: p.RemoteID}
	}
	return out, nil
}
