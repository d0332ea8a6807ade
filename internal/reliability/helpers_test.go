package reliability

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// long reports whether the long forms run (make reliability).
func long() bool { return os.Getenv("SYNCD_RELIABILITY") == "long" }

// pick returns the long or the short value.
func pick[T any](short, longValue T) T {
	if long() {
		return longValue
	}
	return short
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// syncdBinary is SYNCD_BIN when set (make reliability builds it), else
// one build per test process.
func syncdBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SYNCD_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "syncd-reliability-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "syncd")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/syncd/syncd/cmd/syncd")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// cleanEnv is the environment without syncd's own variables.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SYNCD_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// objects counts live objects by natural key (Make: app/label, Patchworks:
// name) and returns the keys held more than once.
func objects(emu *emulator.Server) (byKey map[string]int, dups []string) {
	byKey = map[string]int{}
	st := emu.State()
	for app, a := range st.Make.Apps {
		for _, c := range a.Connections {
			byKey["make:"+app+"/"+c.Label]++
		}
	}
	for _, c := range st.Patchworks.Connectors {
		byKey[fmt.Sprint("patchworks:", c.Attributes["name"])]++
	}
	for k, n := range byKey {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s x%d", k, n))
		}
	}
	return byKey, dups
}

// queryInt runs a count query.
func queryInt(t testing.TB, db, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// auditRow is the part of an audit_events row the checks need.
type auditRow struct {
	ID                      int64
	RunID, Type, Kind, Name string
	Outcome, Error          string
}

func auditRows(t testing.TB, db string) []auditRow {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, coalesce(run_id, ''), event_type, coalesce(resource_kind, ''),
		coalesce(resource_name, ''), coalesce(outcome, ''), coalesce(error, '') FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		err := r.Scan(&a.ID, &a.RunID, &a.Type, &a.Kind, &a.Name, &a.Outcome, &a.Error)
		return a, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkWritesAnnounced checks that every change_applied and change_failed
// row follows a change_planned row of the same run and resource (the
// executor's "no write without a durable announcement"), except
// change_applied rows of a create recovered after a crash.
func checkWritesAnnounced(t testing.TB, rows []auditRow) {
	t.Helper()
	planned := map[string]bool{}
	for _, r := range rows {
		k := r.RunID + " " + r.Kind + "/" + r.Name
		switch r.Type {
		case "change_planned":
			planned[k] = true
		case "change_applied", "change_failed":
			if r.Type == "change_applied" && strings.HasPrefix(r.Error, "recovered after restart") {
				continue
			}
			if !planned[k] {
				t.Errorf("audit row %d (%s of %s/%s, run %s) has no change_planned before it", r.ID, r.Type, r.Kind, r.Name, r.RunID)
			}
		}
	}
}

func queryStrings(t testing.TB, db, sql string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
