package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgstore"
	"github.com/syncd/syncd/internal/syncd"
)

const benchBatch = 1000

// benchEvents is one batch of realistic events: a resource, an action and
// two field changes each.
func benchEvents(iter int) []syncd.Event {
	evs := make([]syncd.Event, benchBatch)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = syncd.Event{
			ID:         fmt.Sprintf("bench-%d-%d", iter, i),
			OccurredAt: t0.Add(time.Duration(iter*benchBatch+i) * time.Millisecond),
			RunID:      "bench-run",
			Type:       syncd.EventChangeApplied,
			Kind:       syncd.MakeConnection,
			Name:       fmt.Sprintf("conn-%d", i%50),
			RemoteID:   fmt.Sprintf("custom-app-%d", i%50),
			Action:     "update",
			Outcome:    "ok",
			Mode:       syncd.ModeApply,
			Actor:      "bench@host",
			Changes: []syncd.FieldChange{
				{Path: "/label", Before: "Old label", After: "New label"},
				{Path: "/common/clientSecret", Before: syncd.Redacted, After: syncd.Redacted, Sensitive: true},
			},
		}
	}
	return evs
}

// BenchmarkRecorder measures events per second through Record, in batches
// of 1000: validation, canonical JSON, the hash chain, the duplicate check
// and COPY, one transaction per batch.
func BenchmarkRecorder(b *testing.B) {
	// The production flush interval: the tests' 20 ms would ping the
	// database fifty times a second alongside the writes measured.
	s := openStore(b, migratedDB(b), audit.Options{FlushInterval: time.Second})
	ctx := context.Background()
	iter := 0
	b.ResetTimer()
	for b.Loop() {
		// Each batch is made when needed, as BenchmarkRawCopy does: batches
		// made ahead would be heap the collector scans during the writes.
		b.StopTimer()
		evs := benchEvents(iter)
		iter++
		b.StartTimer()
		if err := s.Record(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
	if s.SpoolDepth() != 0 {
		b.Fatalf("benchmark spooled %d events: the database was not reachable", s.SpoolDepth())
	}
}

// BenchmarkRawCopy writes the same rows with a bare CopyFrom into the same
// table (hashes precomputed as constants), the floor Record is compared
// with.
func BenchmarkRawCopy(b *testing.B) {
	dsn := migratedDB(b)
	if err := pgstore.MigrateURL(context.Background(), dsn); err != nil {
		b.Fatal(err)
	}
	conn := connect(b, dsn)
	ctx := context.Background()
	cols := []string{
		"id", "occurred_at", "run_id", "event_type", "resource_kind", "resource_name", "remote_id",
		"action", "changes", "outcome", "error", "manifest_revision", "mode", "actor",
		"event_key", "prev_hash", "row_hash",
	}
	const hash = "0000000000000000000000000000000000000000000000000000000000000000"
	changes := []byte(`[{"after":"New label","before":"Old label","path":"/label"},{"after":"(sensitive)","before":"(sensitive)","path":"/common/clientSecret","sensitive":true}]`)
	id := int64(0)
	iter := 0
	for b.Loop() {
		b.StopTimer()
		evs := benchEvents(iter)
		iter++
		rows := make([][]any, len(evs))
		for i, e := range evs {
			id++
			rows[i] = []any{id, e.OccurredAt, e.RunID, string(e.Type), string(e.Kind), e.Name, e.RemoteID,
				e.Action, changes, e.Outcome, nil, nil, string(e.Mode), e.Actor, e.ID, hash, hash}
		}
		b.StartTimer()
		tx, err := conn.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
}
