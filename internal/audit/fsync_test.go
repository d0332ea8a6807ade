package audit

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recordSyncs replaces syncFile for the test with one that records the
// name of every file it flushes, then flushes it.
func recordSyncs(t *testing.T) *[]string {
	var synced []string
	old := syncFile
	syncFile = func(f *os.File) error {
		synced = append(synced, filepath.Base(f.Name()))
		return old(f)
	}
	t.Cleanup(func() { syncFile = old })
	return &synced
}

// A checkpoint written is flushed to disk before AppendCheckpoint says it
// is kept: it is what proves the chain after a power loss.
func TestCheckpointIsSynced(t *testing.T) {
	synced := recordSyncs(t)
	dir := t.TempDir()
	cp := SignCheckpoint([]byte("k"), Checkpoint{ID: 1, Hash: "h1:abc", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err := AppendCheckpoint(dir, cp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{checkpointFile}, *synced); diff != "" {
		t.Errorf("files flushed (-want +got):\n%s", diff)
	}
}

// The drift spool is replaced atomically and durably: its temporary file
// is flushed before the rename, and the directory after it.
func TestDriftSpoolIsSynced(t *testing.T) {
	synced := recordSyncs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "drift.spool")
	if err := writeDriftSpool(path, []DriftScan{{ObservedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"drift.spool.tmp", filepath.Base(dir)}
	if !slices.Equal(want, *synced) {
		t.Errorf("files flushed %q, want %q (the temporary file, then the directory)", *synced, want)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the spool was not written: %v", err)
	}
}
