package reconcile_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// crashAfterCreate wraps a provider: its first Create really creates the
// object and then reports the caller's context as cancelled, which is what
// the executor sees when the process is killed between the create's answer
// and the binding (the intent stays pending). Later calls pass through.
type crashAfterCreate struct {
	platform.Provider
	cancel  context.CancelFunc
	once    sync.Once
	created string
}

func (p *crashAfterCreate) Create(ctx context.Context, d *syncd.Desired) (string, error) {
	crashed := false
	var id string
	var err error
	p.once.Do(func() {
		id, err = p.Provider.Create(ctx, d)
		p.created = id
		p.cancel()
		crashed = true
	})
	if !crashed {
		return p.Provider.Create(ctx, d)
	}
	if err != nil {
		return "", err
	}
	return "", context.Canceled
}

// crashedApply runs one apply of e's manifests whose first create "crashes"
// right after the platform made the object, and returns that object's id.
func crashedApply(t *testing.T, e *testenv.Env) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crash := &crashAfterCreate{Provider: e.Providers[syncd.MakeConnection], cancel: cancel}
	providers := map[syncd.Kind]platform.Provider{}
	for k, p := range e.Providers {
		providers[k] = p
	}
	providers[syncd.MakeConnection] = crash
	r := stack.Wire(e.Store, e.State, providers, e.Hasher, stack.Settings{Actor: "test"}).Runner
	_, _ = r.Once(ctx, reconcile.Request{Trigger: "test", Mode: syncd.ModeApply, Set: e.Load(t)})
	if crash.created == "" {
		t.Fatal("the crashing apply never created anything")
	}
	pending, err := e.State.PendingIntents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("%d pending intents after the crash, want 1: %+v", len(pending), pending)
	}
	return crash.created
}

// recoveredRows counts the change_applied rows the intent recovery writes.
func recoveredRows(t *testing.T, e *testenv.Env, key syncd.Key) []audit.StoredEvent {
	t.Helper()
	events, err := e.Store.Events(context.Background(), audit.Filter{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.StoredEvent
	for _, ev := range events {
		if ev.Event.Type == syncd.EventChangeApplied && strings.HasPrefix(ev.Event.Error, "recovered after restart") {
			out = append(out, ev)
		}
	}
	return out
}

// TestRecoveryWhenNaturalKeyChanged: the process dies after Make created
// the connection and before it was bound; then the manifest's label (the
// natural key) changes. Only the journalled intent still knows the old
// label: the rerun must find the object through it, bind it and rename it,
// not create a second connection under the new label.
func TestRecoveryWhenNaturalKeyChanged(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	key := syncd.Key{Kind: syncd.MakeConnection, Name: "alpha"}
	e.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	created := crashedApply(t, e)

	e.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha renamed", "apikey"))
	res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if !res.Report.OK() {
		t.Fatalf("rerun failed: %+v", res.Report)
	}
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 1 {
		t.Fatalf("%d connections in app-one after the rerun, want 1 (the crashed create, renamed): %+v", len(conns), conns)
	}
	if conns[0].Name != created || conns[0].Label != "Alpha renamed" {
		t.Errorf("connection %s labelled %q, want %s labelled %q", conns[0].Name, conns[0].Label, created, "Alpha renamed")
	}
	bindings, err := e.State.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := bindings[key].RemoteID; got != created {
		t.Errorf("%s bound to %q, want %q", key, got, created)
	}
	if rows := recoveredRows(t, e, key); len(rows) != 1 || rows[0].Event.RemoteID != created {
		t.Errorf("recovered audit rows %+v, want one for %s", rows, created)
	}
	if pending, err := e.State.PendingIntents(ctx); err != nil || len(pending) != 0 {
		t.Errorf("pending intents after the rerun: %+v, %v", pending, err)
	}
}

// TestRecoveryMidReplace: a type change replaces the connection (delete,
// then create); the process dies after the new one was created and before
// it was bound. The rerun must bind the new connection through the intent
// (the "recovered" audit row says so) and leave exactly one connection, of
// the new type, with nothing more to do.
func TestRecoveryMidReplace(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	key := syncd.Key{Kind: syncd.MakeConnection, Name: "alpha"}
	e.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	if res, err := e.Reconcile(t, ctx, syncd.ModeApply, false); err != nil || !res.Report.OK() {
		t.Fatalf("first apply: %v %+v", err, res)
	}
	bindings, err := e.State.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := bindings[key].RemoteID
	if old == "" {
		t.Fatal("the first apply bound nothing")
	}

	e.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "basic"))
	if p := e.Plan(t, false); len(p.Changes) != 1 || p.Changes[0].Action != planner.ActionReplace {
		t.Fatalf("plan %+v, want one replace", p.Changes)
	}
	created := crashedApply(t, e)
	if created == old {
		t.Fatalf("the replace re-used %s", old)
	}

	res, err := e.Reconcile(t, ctx, syncd.ModeApply, false)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if !res.Report.OK() {
		t.Fatalf("rerun failed: %+v", res.Report)
	}
	conns := e.Emu.MakeConnections("app-one")
	if len(conns) != 1 || conns[0].Name != created || conns[0].Type != "basic" {
		t.Fatalf("connections after the rerun %+v, want only %s of type basic", conns, created)
	}
	bindings, err = e.State.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := bindings[key].RemoteID; got != created {
		t.Errorf("%s bound to %q, want %q", key, got, created)
	}
	if rows := recoveredRows(t, e, key); len(rows) != 1 || rows[0].Event.RemoteID != created {
		t.Errorf("recovered audit rows %+v, want one for %s", rows, created)
	}
	for _, c := range e.Plan(t, false).Changes {
		if c.Action != planner.ActionNoop {
			t.Errorf("plan after the rerun has %s of %s, want nothing to do", c.Action, c.Key)
		}
	}
}
