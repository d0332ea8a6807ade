package audit_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/recorded_rows.golden from what Record writes now")

// goldenEvents are the events of TestRecordedRowsGolden, one Record call
// each: odd values of every kind, a duplicate inside a batch, a replay of
// a stored event (the duplicate check), and a call of many batches whose
// COPY data spans many of the connection's 64 KiB messages (one row alone
// larger than one).
func goldenEvents() [][]syncd.Event {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type custom struct {
		Z int    `json:"z"`
		A string `json:"a"`
	}
	full := syncd.Event{
		ID: "g-full", OccurredAt: t0.Add(123456789 * time.Nanosecond), RunID: "run-g", Type: syncd.EventChangeApplied,
		Kind: syncd.MakeConnection, Name: "acme-oauth", RemoteID: "app-7", Action: "update",
		Outcome: "ok", Error: "", ManifestRevision: "abc123", Mode: syncd.ModeApply, Actor: "ci@host",
		Changes: []syncd.FieldChange{
			{Path: "/label", Before: "Old <&>", After: "New \"label\"\\"},
			{Path: "/common/clientSecret", Before: "raw-before", After: "raw-after", Sensitive: true},
			{Path: "/common/apiKey", Before: nil, After: syncd.Redacted, Sensitive: true, Unreadable: true},
		},
	}
	minimal := syncd.Event{ID: "g-min", Type: syncd.EventRunStarted} // time from the store's clock
	odd := syncd.Event{
		ID: "g-odd\x00\xff", OccurredAt: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -7*3600)),
		Type: syncd.EventChangeFailed, Name: "bad\x00name\xff", Error: "nul\x00 and \xfe bytes, é, \u2028",
		Changes: []syncd.FieldChange{
			{Path: "/a\x00", Before: 3, After: int64(1) << 60},
			{Path: "/b", Before: custom{Z: 1, A: "x"}, After: []string{"<", ">", "&", "\u2028", "\x00"}},
			{Path: "/c", Before: 1e-7, After: map[string]any{"é": 1e21, "a": []any{0.1, -0.0, true, nil}}},
		},
	}
	empty := syncd.Event{ID: "g-empty", OccurredAt: t0, Type: syncd.EventDriftDetected, Changes: []syncd.FieldChange{}}
	calls := [][]syncd.Event{
		{full, minimal, odd, empty, full},
		{odd, {ID: "g-after-replay", OccurredAt: t0.Add(time.Hour), Type: syncd.EventRunFinished, Outcome: "ok"}},
	}
	var many []syncd.Event
	for i := range 300 {
		e := full
		e.ID = fmt.Sprintf("g-many-%03d", i)
		e.OccurredAt = t0.Add(time.Duration(i) * time.Microsecond)
		e.Name = fmt.Sprintf("conn-%d", i%7)
		if i == 150 {
			e.Error = strings.Repeat("long error ", 10000) // one row over 64 KiB
		}
		many = append(many, e)
	}
	return append(calls, many)
}

// TestRecordedRowsGolden pins what Record writes, byte for byte: every
// column of the first rows (the hash chain included) and a digest of the
// many rows after them, for a chain without the key, with it, and keyed
// part way. A change to how rows are encoded, hashed or sent must leave
// this file unchanged (and verify must still pass).
func TestRecordedRowsGolden(t *testing.T) {
	key := []byte("golden-audit-key-0123456789abcdef")
	scenarios := []struct {
		name string
		// keyFrom is the first Record call made with the key; -1: none.
		keyFrom int
	}{
		{"plain", -1},
		{"keyed", 0},
		{"keyed later", 1},
	}
	var got strings.Builder
	for _, sc := range scenarios {
		dsn := migratedDB(t)
		ctx := context.Background()
		clk := newClock()
		for i, evs := range goldenEvents() {
			opts := audit.Options{BatchSize: 128, Now: clk.Now}
			if sc.keyFrom >= 0 && i >= sc.keyFrom {
				opts.ChainKey = key
			}
			s := openStore(t, dsn, opts)
			if err := s.Record(ctx, evs...); err != nil {
				t.Fatalf("%s: record call %d: %v", sc.name, i, err)
			}
			if d := s.SpoolDepth(); d != 0 {
				t.Fatalf("%s: record call %d spooled %d events", sc.name, i, d)
			}
			if rep, err := s.Verify(ctx); err != nil || !rep.OK() {
				t.Fatalf("%s: verify after call %d: %+v, %v", sc.name, i, rep, err)
			}
			s.Close()
		}
		conn := connect(t, dsn)
		mustExec(t, conn, `SET TimeZone = 'UTC'`)
		fmt.Fprintf(&got, "== %s\n", sc.name)
		rows, err := conn.Query(ctx, `SELECT to_jsonb(a)::text FROM audit_events a WHERE id <= 6 ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&got, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		var n int64
		var digest, head string
		if err := conn.QueryRow(ctx, `SELECT count(*), md5(string_agg(to_jsonb(a)::text, E'\n' ORDER BY id))
			FROM audit_events a WHERE id > 6`).Scan(&n, &digest); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT last_id || ' ' || row_hash || ' ' || coalesce(keyed_from::text, '-') FROM audit_chain`).Scan(&head); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "rows after 6: %d, md5 %s\nhead: %s\n", n, digest, head)
	}
	path := filepath.Join("testdata", "recorded_rows.golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("rows written differ from %s (-golden +now):\n%s", path, diff)
	}
}
