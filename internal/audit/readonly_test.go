package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
)

// TestReadOnlyNeverMigrates: the read-only openings stop at a database
// behind on migrations, naming `syncd migrate`, and leave it as it was.
func TestReadOnlyNeverMigrates(t *testing.T) {
	ctx := context.Background()
	behind := migratedDB(t)
	mustExec(t, connect(t, behind), `UPDATE syncd_schema_version SET version = 1`)
	for name, dsn := range map[string]string{"empty": pgtest.Database(t), "behind": behind} {
		t.Run(name, func(t *testing.T) {
			_, _, err := audit.ReadInventory(ctx, dsn)
			if !errors.Is(err, audit.ErrSchemaBehind) || !strings.Contains(err.Error(), "syncd migrate") {
				t.Errorf("ReadInventory: %v, want ErrSchemaBehind naming syncd migrate", err)
			}
			s, err := audit.Open(ctx, dsn, audit.Options{ReadOnly: true, Logger: quietLogger()})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, audit.ErrSchemaBehind) {
				t.Errorf("Open read-only: %v, want ErrSchemaBehind", err)
			}
		})
	}
	var version int
	if err := connect(t, behind).QueryRow(ctx, `SELECT version FROM syncd_schema_version`).Scan(&version); err != nil || version != 1 {
		t.Errorf("schema version %d (%v): a read-only opening migrated", version, err)
	}
}

// TestReadInventoryOnlyReads: no HMAC key is created when none exists, and
// the bindings come back with their hashes.
func TestReadInventoryOnlyReads(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	s := openStore(t, dsn, audit.Options{})
	h := syncd.NewHasher([]byte("k"))
	b := syncd.Binding{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "x"}, RemoteID: "7",
		Hashes: map[string]string{"/variables/t/value": h.Hash("v")}}
	if err := s.Bind(ctx, b); err != nil {
		t.Fatal(err)
	}
	inv, key, err := audit.ReadInventory(ctx, dsn)
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
	if _, key, err = audit.ReadInventory(ctx, dsn); err != nil || string(key) != string(want) {
		t.Errorf("ReadInventory key %x (%v), want the stored one", key, err)
	}
}
