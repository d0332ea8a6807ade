package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

func TestAuditEventsAppendOnly(t *testing.T) {
	dsn := migratedDB(t)
	s := openStore(t, dsn, audit.Options{})
	ctx := context.Background()
	if err := s.Record(ctx, syncd.Event{Type: syncd.EventRunStarted, RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, dsn)
	tests := []struct{ name, sql string }{
		{"update", `UPDATE audit_events SET outcome = 'forged'`},
		{"update no row", `UPDATE audit_events SET outcome = 'forged' WHERE false`},
		{"delete", `DELETE FROM audit_events`},
		{"delete no row", `DELETE FROM audit_events WHERE id < 0`},
		{"truncate", `TRUNCATE audit_events`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Fatalf("%s: got %v, want the append-only refusal (42501)", tt.sql, err)
			}
		})
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE outcome IS NULL`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("row count after refused changes = %d, %v; want 1", n, err)
	}
}
