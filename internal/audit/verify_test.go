package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

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
