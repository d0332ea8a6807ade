package pgstore_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/pgtest"
)

// auditColumns is the SPEC §7 contract plus syncd's own columns.
var auditColumns = []string{
	"id bigint", "occurred_at timestamp with time zone", "run_id text", "event_type text",
	"resource_kind text", "resource_name text", "remote_id text", "action text", "changes jsonb",
	"outcome text", "error text", "manifest_revision text", "mode text", "actor text",
	"event_key text", "prev_hash text", "row_hash text",
}

func columns(t *testing.T, dsn, table string) []string {
	t.Helper()
	conn := connect(t, dsn)
	rows, err := conn.Query(context.Background(), `
SELECT column_name || ' ' || data_type FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestMigrate(t *testing.T) {
	tests := []struct {
		name  string
		apply func(t *testing.T, dsn string)
	}{
		{"from empty", func(t *testing.T, dsn string) {
			if err := pgstore.MigrateURL(context.Background(), dsn); err != nil {
				t.Fatal(err)
			}
		}},
		{"twice", func(t *testing.T, dsn string) {
			for range 2 {
				if err := pgstore.MigrateURL(context.Background(), dsn); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"two migrators at once", func(t *testing.T, dsn string) {
			var g errgroup.Group
			for range 2 {
				g.Go(func() error { return pgstore.MigrateURL(context.Background(), dsn) })
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.Database(t)
			tt.apply(t, dsn)
			if diff := cmp.Diff(auditColumns, columns(t, dsn, "audit_events")); diff != "" {
				t.Errorf("audit_events columns (-want +got)\n%s", diff)
			}
			conn := connect(t, dsn)
			var n int
			if err := conn.QueryRow(context.Background(), `
SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace
AND relname IN ('audit_events', 'runs', 'inventory', 'drift', 'drift_open', 'intents', 'audit_chain')`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 7 {
				t.Errorf("found %d of the 7 tables and views", n)
			}
		})
	}
}
