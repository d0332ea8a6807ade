package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

// TestChangeAttempts: the failure history towards stuck is written,
// replaced and forgotten per resource, and read back as written.
func TestChangeAttempts(t *testing.T) {
	clock := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clock.Now})
	ctx := context.Background()
	since := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	a := audit.ChangeAttempts{Signature: "sig-a", Attempts: 2, RemoteID: "conn-a", Action: "update", Error: "not effective: /label"}
	b := audit.ChangeAttempts{Signature: "sig-b", Attempts: 3, RemoteID: "17", Action: "update", Error: "refused", StuckSince: since}
	create := audit.ChangeAttempts{Signature: "sig-c", Attempts: 1, Action: "create"}
	for _, step := range []struct {
		key syncd.Key
		a   *audit.ChangeAttempts
	}{
		{keyA, &audit.ChangeAttempts{Signature: "old", Attempts: 1, Action: "update"}},
		{keyA, &a}, // replaces
		{keyB, &b},
		{keyB, nil}, // forgets
		{keyB, nil}, // forgetting nothing is no error
		{keyB, &b},
	} {
		if err := s.SetChangeAttempts(ctx, step.key, step.a); err != nil {
			t.Fatalf("set %s: %v", step.key, err)
		}
	}
	got, err := s.ChangeAttempts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[syncd.Key]audit.ChangeAttempts{keyA: a, keyB: b}, got); diff != "" {
		t.Errorf("change attempts (-want +got)\n%s", diff)
	}
	// A create has no remote id yet.
	keyC := syncd.Key{Kind: syncd.PatchworksConnector, Name: "new"}
	if err := s.SetChangeAttempts(ctx, keyC, &create); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ChangeAttempts(ctx); err != nil || !cmp.Equal(got[keyC], create) {
		t.Errorf("create's attempts = %+v, %v; want %+v", got[keyC], err, create)
	}
}

// TestStuckResources: a resource is stuck while its latest change event is
// a change_failed "stuck"; a later change event or an "unstuck" record
// frees it, and events about other resources do not.
func TestStuckResources(t *testing.T) {
	clock := newClock()
	s := openStore(t, migratedDB(t), audit.Options{Now: clock.Now})
	ctx := context.Background()
	keyC := syncd.Key{Kind: syncd.MakeConnection, Name: "c"}
	keyD := syncd.Key{Kind: syncd.MakeConnection, Name: "d"}
	t0 := clock.Now()
	ev := func(k syncd.Key, typ syncd.EventType, outcome string, minute int) syncd.Event {
		return syncd.Event{Type: typ, Kind: k.Kind, Name: k.Name, RemoteID: "id-" + k.Name, Action: "update",
			Outcome: outcome, Error: "refused: " + k.Name, OccurredAt: t0.Add(time.Duration(minute) * time.Minute)}
	}
	if err := s.Record(ctx,
		ev(keyA, syncd.EventChangeFailed, "failed", 0),
		ev(keyA, syncd.EventChangeFailed, "stuck", 1),
		ev(keyB, syncd.EventChangeFailed, "stuck", 2),
		ev(keyB, syncd.EventChangeApplied, "ok", 3), // applied after all
		ev(keyC, syncd.EventChangeFailed, "stuck", 4),
		ev(keyC, syncd.EventChangePlanned, "unstuck", 5), // someone freed it
		ev(keyD, syncd.EventChangeFailed, "stuck", 6),
		ev(keyA, syncd.EventDriftDetected, "open", 7), // not a change: still stuck
		ev(keyB, syncd.EventChangePlanned, "ok", 8),
	); err != nil {
		t.Fatal(err)
	}
	got, err := s.StuckResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.StuckResource{
		{Key: keyA, RemoteID: "id-a", Action: "update", Since: t0.Add(time.Minute), Error: "refused: a"},
		{Key: keyD, RemoteID: "id-d", Action: "update", Since: t0.Add(6 * time.Minute), Error: "refused: d"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stuck resources (-want +got)\n%s", diff)
	}
}
