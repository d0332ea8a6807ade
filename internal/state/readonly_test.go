package state_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// TestReadInventoryNeverMigrates: ReadInventory stops at a database behind
// on migrations, naming `syncd migrate`, and leaves it as it was.
func TestReadInventoryNeverMigrates(t *testing.T) {
	ctx := context.Background()
	behind := migratedDB(t)
	if _, err := connect(t, behind).Exec(ctx, `UPDATE syncd_schema_version SET version = 1`); err != nil {
		t.Fatal(err)
	}
	for name, dsn := range map[string]string{"empty": pgtest.Database(t), "behind": behind} {
		t.Run(name, func(t *testing.T) {
			_, _, err := state.ReadInventory(ctx, dsn)
			if !errors.Is(err, state.ErrSchemaBehind) || !strings.Contains(err.Error(), "syncd migrate") {
				t.Errorf("ReadInventory: %v, want ErrSchemaBehind naming syncd migrate", err)
			}
		})
	}
	var version int
	if err := connect(t, behind).QueryRow(ctx, `SELECT version FROM syncd_schema_version`).Scan(&version); err != nil || version != 1 {
		t.Errorf("schema version %d (%v): ReadInventory migrated", version, err)
	}
}

// TestReadInventoryOnlyReads: no HMAC key is created when none exists, and
// the bindings come back with their hashes.
func TestReadInventoryOnlyReads(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	_, s := openStores(t, dsn, audit.Options{})
	h := syncd.NewHasher([]byte("k"))
	b := syncd.Binding{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "x"}, RemoteID: "7",
		Hashes: map[string]string{"/variables/t/value": h.Hash("v")}}
	if err := s.Bind(ctx, b); err != nil {
		t.Fatal(err)
	}
	inv, key, err := state.ReadInventory(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if key != nil {
		t.Error("a key came back from a database that has none")
	}
	if got := inv[b.Key]; got.RemoteID != "7" || got.Hashes["/variables/t/value"] != b.Hashes["/variables/t/value"] {
		t.Errorf("binding read back as %+v", got)
	}
	var n int
	if err := connect(t, dsn).QueryRow(ctx, `SELECT count(*) FROM syncd_settings`).Scan(&n); err != nil || n != 0 {
		t.Errorf("ReadInventory created %d settings rows (%v)", n, err)
	}
	want, err := s.HMACKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, key, err = state.ReadInventory(ctx, dsn); err != nil || string(key) != string(want) {
		t.Errorf("ReadInventory key %x (%v), want the stored one", key, err)
	}
}
