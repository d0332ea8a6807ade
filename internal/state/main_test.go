package state_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	keyA = syncd.Key{Kind: syncd.MakeConnection, Name: "a"}
	keyB = syncd.Key{Kind: syncd.PatchworksConnector, Name: "b"}
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStores opens a migrated audit log on dsn, with its own spool
// directory, and the state store that shares its connection, as
// internal/stack wires them.
func openStores(t testing.TB, dsn string, opts audit.Options) (*audit.Store, *state.Store) {
	t.Helper()
	if opts.SpoolDir == "" {
		opts.SpoolDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 20 * time.Millisecond
	}
	opts.Migrate = true
	log, err := audit.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { log.Close() })
	return log, state.New(log.DB(), log, opts.Now)
}

func connect(t testing.TB, dsn string) *pgx.Conn { t.Helper(); return pgtest.Connect(t, dsn) }

// migratedDB is a fresh database with the migrations applied, cloned from
// a template migrated once per test process.
func migratedDB(t testing.TB) string {
	t.Helper()
	return pgtest.DatabaseFrom(t, "state-migrated", pgstore.MigrateURL)
}
