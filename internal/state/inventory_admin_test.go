package state_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// TestBindRemoteAndForget: a remote id is bound to one resource at most,
// even when two binds race; forget removes the binding; both are audited.
func TestBindRemoteAndForget(t *testing.T) {
	log, s := openStores(t, migratedDB(t), audit.Options{})
	ctx := context.Background()
	other := syncd.Key{Kind: keyA.Kind, Name: "other"}

	// Two binds of one remote id at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, k := range []syncd.Key{keyA, other} {
		wg.Go(func() { errs[i] = s.BindRemote(ctx, k, "conn-x", syncd.Event{Actor: "test"}) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrAlreadyBound):
			t.Fatalf("bind: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent binds of one remote id succeeded, want 1 (%v)", won, errs)
	}
	winner := keyA
	if errs[0] != nil {
		winner = other
	}
	if err := s.BindRemote(ctx, winner, "conn-y", syncd.Event{}); !errors.Is(err, state.ErrAlreadyBound) {
		t.Errorf("rebinding a bound resource: %v, want ErrAlreadyBound", err)
	}
	entries, err := s.Inventory(ctx)
	if err != nil || len(entries) != 1 || entries[0].Key != winner || entries[0].RemoteID != "conn-x" || entries[0].Hashes != 0 {
		t.Fatalf("inventory %+v, %v", entries, err)
	}

	b, err := s.Forget(ctx, winner, syncd.Event{Actor: "test"})
	if err != nil || b.RemoteID != "conn-x" {
		t.Fatalf("forget: %+v, %v", b, err)
	}
	if _, err := s.Forget(ctx, winner, syncd.Event{}); !errors.Is(err, state.ErrNotBound) {
		t.Errorf("forget twice: %v, want ErrNotBound", err)
	}
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := log.Events(ctx, audit.Filter{Key: &winner})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, string(e.Event.Type)+" "+e.Event.Action+" "+e.Event.RemoteID)
	}
	want := []string{"change_applied bind conn-x", "change_applied forget conn-x"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %q, want %q", got, want)
	}
}
