package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/syncd"
)

// sampleEvents are n events about one resource, with changes of every JSON
// type so that the canonical form of jsonb is exercised.
func sampleEvents(runID string, n int) []syncd.Event {
	evs := make([]syncd.Event, n)
	for i := range evs {
		evs[i] = syncd.Event{
			ID:      fmt.Sprintf("%s-%04d", runID, i),
			RunID:   runID,
			Type:    syncd.EventChangeApplied,
			Kind:    syncd.MakeConnection,
			Name:    "acme-oauth",
			Action:  "update",
			Outcome: "ok",
			Mode:    syncd.ModeApply,
			Actor:   "ci",
			Changes: []syncd.FieldChange{
				{Path: "/label", Before: "Old <&>", After: fmt.Sprintf("New %d", i)},
				{Path: "/sections/api", Before: map[string]any{"b": 1.5, "a": []any{true, nil, 1e21}}, After: 0.1},
			},
		}
	}
	return evs
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name string
		// tamper acts as a superuser working around the trigger.
		tamper      string
		wantOK      bool
		wantBroken  int64 // row id
		wantProblem string
	}{
		{name: "intact", wantOK: true},
		{
			name:        "row changed",
			tamper:      `UPDATE audit_events SET outcome = 'failed' WHERE id = 3`,
			wantBroken:  3,
			wantProblem: "changed",
		},
		{
			name:        "changes rewritten",
			tamper:      `UPDATE audit_events SET changes = '[]' WHERE id = 2`,
			wantBroken:  2,
			wantProblem: "changed",
		},
		{
			name:        "NULL made empty",
			tamper:      `UPDATE audit_events SET error = '' WHERE id = 4`,
			wantBroken:  4,
			wantProblem: "changed",
		},
		{
			name:        "row removed",
			tamper:      `DELETE FROM audit_events WHERE id = 2`,
			wantBroken:  3,
			wantProblem: "row id 2 missing",
		},
		{
			name:        "last row removed",
			tamper:      `DELETE FROM audit_events WHERE id = 5`,
			wantProblem: "row id 5 missing at the end",
		},
		{
			name: "row changed and rehashed",
			tamper: `UPDATE audit_events SET outcome = 'failed',
				row_hash = encode(sha256(convert_to(row_hash, 'UTF8')), 'hex') WHERE id = 3`,
			wantBroken:  3,
			wantProblem: "changed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := migratedDB(t)
			s := openStore(t, dsn, audit.Options{})
			ctx := context.Background()
			if err := s.Record(ctx, sampleEvents("run", 5)...); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != "" {
				conn := connect(t, dsn)
				mustExec(t, conn, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
				mustExec(t, conn, tt.tamper)
				mustExec(t, conn, `ALTER TABLE audit_events ENABLE TRIGGER USER`)
			}
			rep, err := s.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() != tt.wantOK {
				t.Fatalf("OK = %v, want %v; report %+v", rep.OK(), tt.wantOK, rep)
			}
			if rep.FirstBroken != tt.wantBroken {
				t.Errorf("FirstBroken = %d, want %d; report %+v", rep.FirstBroken, tt.wantBroken, rep)
			}
			if tt.wantProblem != "" && !strings.Contains(rep.Problems[0].Reason, tt.wantProblem) {
				t.Errorf("first problem %q, want it to mention %q", rep.Problems[0].Reason, tt.wantProblem)
			}
		})
	}
}

// TestVerifyOddValues: values the database stores differently from how
// they arrive (NUL, invalid UTF-8, Go ints and structs, big and small
// numbers) still verify.
func TestVerifyOddValues(t *testing.T) {
	s := openStore(t, migratedDB(t), audit.Options{})
	ctx := context.Background()
	type custom struct {
		Z int    `json:"z"`
		A string `json:"a"`
	}
	ev := syncd.Event{
		Type: syncd.EventChangeFailed, Name: "bad\x00name\xff", Error: "nul\x00 and \xfe bytes",
		Changes: []syncd.FieldChange{
			{Path: "/a\x00", Before: 3, After: int64(1) << 60},
			{Path: "/b", Before: custom{Z: 1, A: "x"}, After: []string{"<", ">", "&", "\u2028", "\x00"}},
			{Path: "/c", Before: 1e-7, After: map[string]any{"é": 1e21, "a": []any{0.1, -0.0}}},
		},
	}
	if err := s.Record(ctx, ev); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// TestVerifyReportsEachBreakExactly: every kind of break is reported once,
// at the row where it shows, with the ids of removed rows, and the report
// keeps the first maxProblems problems of a chain broken everywhere.
func TestVerifyReportsEachBreakExactly(t *testing.T) {
	const when = "2026-03-01T12:00:00Z" // the test clock's time, in a checkpoint
	tests := []struct {
		name string
		key  []byte
		rows int
		// checkpoints are taken (signed heads) after each of these many
		// rows are recorded; 0 rows means none.
		checkpoints []int
		tamper      []string // as a superuser, triggers disabled on audit_events
		want        []audit.VerifyProblem
		wantBroken  int64
	}{
		{
			name: "rows removed in the middle", rows: 6,
			tamper:     []string{`DELETE FROM audit_events WHERE id IN (2, 3)`},
			want:       []audit.VerifyProblem{{ID: 4, MissingFrom: 2, MissingTo: 3, Reason: "row ids 2-3 missing before it (removed)"}},
			wantBroken: 4,
		},
		{
			name: "rows removed at the end", rows: 6,
			tamper: []string{`DELETE FROM audit_events WHERE id > 4`},
			want:   []audit.VerifyProblem{{MissingFrom: 5, MissingTo: 6, Reason: "row ids 5-6 missing at the end (removed)"}},
		},
		{
			name: "chain head's hash changed", rows: 3,
			tamper:     []string{`UPDATE audit_chain SET row_hash = 'x'`},
			want:       []audit.VerifyProblem{{ID: 3, Reason: "last row does not match the chain head (changed)"}},
			wantBroken: 3,
		},
		{
			name: "rows beyond the chain head", rows: 3,
			tamper:     []string{`UPDATE audit_chain SET last_id = 2, row_hash = 'x'`},
			want:       []audit.VerifyProblem{{ID: 3, Reason: "rows beyond the chain head (written around syncd)"}},
			wantBroken: 3,
		},
		{
			name: "prev_hash rewritten", rows: 3,
			tamper: []string{`UPDATE audit_events SET prev_hash = 'x' WHERE id = 2`},
			want: []audit.VerifyProblem{
				{ID: 2, Reason: "prev_hash does not match the previous row's row_hash"},
				{ID: 2, Reason: "row content does not match its row_hash (changed)"},
			},
			wantBroken: 2,
		},
		{
			name: "keying moved later", key: chainKey, rows: 4, checkpoints: []int{4},
			tamper: []string{`UPDATE audit_chain SET keyed_from = 3`},
			want: []audit.VerifyProblem{{Reason: "checkpoint of " + when +
				" says the chain is keyed from row 1; the database says row 3 (changed)"}},
		},
		{
			name: "keying switched off, two checkpoints say so once", key: chainKey, rows: 4, checkpoints: []int{2, 4},
			tamper: []string{`UPDATE audit_chain SET keyed_from = NULL`},
			want: []audit.VerifyProblem{{Reason: "checkpoint of " + when +
				" says the chain is keyed from row 1; the database says it is not keyed (changed)"}},
		},
		{
			name: "checkpointed row changed and re-hashed", key: chainKey, rows: 3, checkpoints: []int{2},
			tamper: []string{`UPDATE audit_events SET outcome = 'failed' WHERE id = 2`},
			want: []audit.VerifyProblem{
				{ID: 2, Reason: "row content does not match its keyed row_hash (changed, forged, or another key)"},
			},
			wantBroken: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := migratedDB(t)
			s := openStore(t, dsn, audit.Options{ChainKey: tt.key, Now: newClock().Now})
			evs := sampleEvents("run", tt.rows)
			var cps []audit.Checkpoint
			done := 0
			for _, n := range append(tt.checkpoints, tt.rows) {
				if err := s.Record(ctx, evs[done:n]...); err != nil {
					t.Fatal(err)
				}
				done = n
				if len(cps) < len(tt.checkpoints) {
					cp, err := s.SignedHead(ctx)
					if err != nil {
						t.Fatal(err)
					}
					cps = append(cps, cp)
				}
			}
			conn := connect(t, dsn)
			mustExec(t, conn, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
			for _, q := range tt.tamper {
				mustExec(t, conn, q)
			}
			mustExec(t, conn, `ALTER TABLE audit_events ENABLE TRIGGER USER`)
			rep, err := s.VerifyWith(ctx, audit.VerifyOptions{Key: tt.key, Checkpoints: cps})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rep.Problems); diff != "" {
				t.Errorf("problems (-want +got)\n%s", diff)
			}
			if rep.FirstBroken != tt.wantBroken {
				t.Errorf("FirstBroken = %d, want %d", rep.FirstBroken, tt.wantBroken)
			}
		})
	}

	t.Run("a chain broken everywhere reports its first 100 problems", func(t *testing.T) {
		ctx := context.Background()
		dsn := migratedDB(t)
		s := openStore(t, dsn, audit.Options{})
		if err := s.Record(ctx, sampleEvents("run", 120)...); err != nil {
			t.Fatal(err)
		}
		conn := connect(t, dsn)
		mustExec(t, conn, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
		mustExec(t, conn, `UPDATE audit_events SET outcome = 'failed'`)
		mustExec(t, conn, `ALTER TABLE audit_events ENABLE TRIGGER USER`)
		rep, err := s.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 120 || len(rep.Problems) != 100 || rep.FirstBroken != 1 || rep.Problems[99].ID != 100 {
			t.Errorf("report: %d rows, %d problems, first broken %d; want 120 rows, 100 problems from row 1 to 100", rep.Rows, len(rep.Problems), rep.FirstBroken)
		}
	})
}
