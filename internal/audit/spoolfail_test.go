package audit

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/syncd"
)

// TestRecordFailsWhenTheSpoolCannotBeWritten: Record promises an event is
// in the database or fsync'd to the spool when it returns nil. While the
// store spools, a spool that refuses the write (here a file opened for
// reading only) must make Record fail, not report the event kept.
func TestRecordFailsWhenTheSpoolCannotBeWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), spoolFile)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // read-only: every write fails
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &Store{
		opts:     Options{BatchSize: 10},
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		spool:    &spool{f: f, rejected: filepath.Join(filepath.Dir(path), "rejected.jsonl")},
		spooling: true,
		kick:     make(chan struct{}, 1),
	}
	s.opts.Now = func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	err = s.Record(context.Background(), syncd.Event{ID: "e1", Type: syncd.EventChangeApplied})
	if err == nil {
		t.Fatal("Record returned nil although the spool could not be written")
	}
	if got := s.SpoolDepth(); got != 0 {
		t.Errorf("spool depth %d after a failed append, want 0", got)
	}
}
