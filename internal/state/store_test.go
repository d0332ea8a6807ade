package state_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

func TestInventory(t *testing.T) {
	_, s := openStores(t, migratedDB(t), audit.Options{})
	ctx := context.Background()
	h := syncd.NewHasher([]byte("k"))
	a := syncd.Binding{Key: keyA, RemoteID: "conn-a", Hashes: map[string]string{"/common/token": h.Hash("x")}}
	b := syncd.Binding{Key: keyB, RemoteID: "17", Hashes: map[string]string{}}
	for _, bd := range []syncd.Binding{a, b, {Key: keyA, RemoteID: "conn-a2", Hashes: a.Hashes}} {
		if err := s.Bind(ctx, bd); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Unbind(ctx, keyB); err != nil {
		t.Fatal(err)
	}
	got, err := s.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.RemoteID = "conn-a2"
	if diff := cmp.Diff(map[syncd.Key]syncd.Binding{keyA: a}, got); diff != "" {
		t.Errorf("bindings (-want +got)\n%s", diff)
	}
	if n, err := s.InventoryCount(ctx); err != nil || n != 1 {
		t.Errorf("InventoryCount = %d, %v; want 1", n, err)
	}
}

func TestIntents(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, s := openStores(t, migratedDB(t), audit.Options{Now: func() time.Time { return at }})
	ctx := context.Background()
	var ids []int64
	for _, k := range []syncd.Key{keyA, keyB, {Kind: syncd.MakeConnection, Name: "c"}} {
		id, err := s.BeginIntent(ctx, syncd.Intent{Key: k, NaturalKey: "app/" + k.Name, Action: "create"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := s.FinishIntent(ctx, ids[0], syncd.IntentSucceeded, "conn-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIntent(ctx, ids[2], syncd.IntentFailed, "", "422 invalid"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIntent(ctx, 999999, syncd.IntentFailed, "", ""); err == nil {
		t.Error("finished an intent that does not exist")
	}
	got, err := s.PendingIntents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []syncd.Intent{{ID: ids[1], Key: keyB, NaturalKey: "app/b", Action: "create", State: "pending", CreatedAt: at, UpdatedAt: at}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pending (-want +got)\n%s", diff)
	}
}

// TestNeedsDatabase: the state store needs the database and says
// ErrUnavailable when it is down, without the password; its failure marks
// the connection it shares with the audit log unhealthy, so that events
// spool at once.
func TestNeedsDatabase(t *testing.T) {
	const password = "pw-s3cret-41"
	log, err := audit.Open(context.Background(), "postgres://postgres:"+password+"@127.0.0.1:1/x?sslmode=disable",
		audit.Options{SpoolDir: t.TempDir(), Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatalf("Open with the database down: %v", err)
	}
	defer log.Close()
	s := state.New(log.DB(), log, nil)
	ctx := context.Background()
	calls := map[string]error{}
	_, calls["BeginIntent"] = s.BeginIntent(ctx, syncd.Intent{Key: keyA, Action: "create"})
	_, calls["Bindings"] = s.Bindings(ctx)
	_, calls["PendingIntents"] = s.PendingIntents(ctx)
	_, calls["HMACKey"] = s.HMACKey(ctx)
	calls["Bind"] = s.Bind(ctx, syncd.Binding{Key: keyA, RemoteID: "r"})
	for name, err := range calls {
		if !errors.Is(err, state.ErrUnavailable) {
			t.Errorf("%s: got %v, want ErrUnavailable", name, err)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error shows the database password: %v", name, err)
		}
	}
	if log.Healthy() {
		t.Error("the audit log is Healthy() after the state store found the database down")
	}
}
