package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
)

// TestReadOnlyNeverMigrates: the read-only openings stop at a database
// behind on migrations, naming `syncd migrate`, and leave it as it was.
func TestReadOnlyNeverMigrates(t *testing.T) {
	ctx := context.Background()
	behind := migratedDB(t)
	mustExec(t, connect(t, behind), `UPDATE syncd_schema_version SET version = 1`)
	for name, dsn := range map[string]string{"empty": pgtest.Database(t), "behind": behind} {
		t.Run(name, func(t *testing.T) {
			s, err := audit.Open(ctx, dsn, audit.Options{ReadOnly: true, Logger: quietLogger()})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, audit.ErrSchemaBehind) || !strings.Contains(err.Error(), "syncd migrate") {
				t.Errorf("Open read-only: %v, want ErrSchemaBehind naming syncd migrate", err)
			}
		})
	}
	var version int
	if err := connect(t, behind).QueryRow(ctx, `SELECT version FROM syncd_schema_version`).Scan(&version); err != nil || version != 1 {
		t.Errorf("schema version %d (%v): a read-only opening migrated", version, err)
	}
}
