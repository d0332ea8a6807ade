package audit_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
)

var (
	chainKey = []byte("audit-key-0123456789-abcdef")
	otherKey = []byte("another-key-0123456789-xyz")
)

// TestKeyedChainAttacks plays a database superuser against a keyed chain
// of 5 rows with a checkpoint kept outside the database after row 5.
func TestKeyedChainAttacks(t *testing.T) {
	tests := []struct {
		name string
		// tamper runs as a superuser (triggers disabled on audit_events).
		tamper []string
		// forge appends rows through a store without the key after the
		// tamper, as a forger with syncd's code but not its key would.
		forge       bool
		key         []byte
		checkpoint  bool
		wantOK      bool
		wantErr     error
		wantProblem string
	}{
		{name: "intact", key: chainKey, checkpoint: true, wantOK: true},
		{name: "intact without checkpoints", key: chainKey, wantOK: true},
		{name: "no key for a keyed chain", wantErr: audit.ErrNeedKey},
		{name: "wrong key", key: otherKey, wantProblem: "another key"},
		{
			name:        "row changed and re-hashed with plain SHA-256",
			tamper:      []string{`UPDATE audit_events SET outcome = 'failed', row_hash = encode(sha256(convert_to(row_hash, 'UTF8')), 'hex') WHERE id = 3`},
			key:         chainKey,
			wantProblem: "not keyed",
		},
		{
			name:        "keying switched off and rows forged with plain SHA-256",
			tamper:      []string{`UPDATE audit_chain SET keyed_from = NULL`},
			forge:       true,
			key:         chainKey,
			checkpoint:  true,
			wantProblem: "keyed from row 1",
		},
		{
			name:        "keying switched off, no checkpoint",
			tamper:      []string{`UPDATE audit_chain SET keyed_from = NULL`},
			forge:       true,
			key:         chainKey,
			wantProblem: "changed",
		},
		{
			name: "tail truncated and head rewritten",
			tamper: []string{`DELETE FROM audit_events WHERE id > 3`,
				`UPDATE audit_chain SET last_id = 3, row_hash = (SELECT row_hash FROM audit_events WHERE id = 3)`},
			key:         chainKey,
			checkpoint:  true,
			wantProblem: "row ids 4-5 missing at the end (truncated",
		},
		{
			name:        "table wiped and head reset",
			tamper:      []string{`DELETE FROM audit_events`, `UPDATE audit_chain SET last_id = 0, row_hash = '', keyed_from = NULL`},
			key:         chainKey,
			checkpoint:  true,
			wantProblem: "wiped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := migratedDB(t)
			s := openStore(t, dsn, audit.Options{ChainKey: chainKey})
			if err := s.Record(ctx, sampleEvents("run", 5)...); err != nil {
				t.Fatal(err)
			}
			cp, err := s.SignedHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cp.ID != 5 || cp.KeyedFrom != 1 || !strings.HasPrefix(cp.Hash, "h1:") {
				t.Fatalf("checkpoint %+v", cp)
			}
			if len(tt.tamper) > 0 {
				conn := connect(t, dsn)
				mustExec(t, conn, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
				for _, q := range tt.tamper {
					mustExec(t, conn, q)
				}
				mustExec(t, conn, `ALTER TABLE audit_events ENABLE TRIGGER USER`)
			}
			if tt.forge {
				forger := openStore(t, dsn, audit.Options{})
				if err := forger.Record(ctx, sampleEvents("forged", 2)...); err != nil {
					t.Fatal(err)
				}
			}
			opts := audit.VerifyOptions{Key: tt.key}
			if tt.checkpoint {
				opts.Checkpoints = []audit.Checkpoint{cp}
			}
			rep, err := s.VerifyWith(ctx, opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("VerifyWith error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if rep.OK() != tt.wantOK {
				t.Fatalf("OK = %v, want %v; problems %+v", rep.OK(), tt.wantOK, rep.Problems)
			}
			if tt.wantProblem != "" {
				found := false
				for _, p := range rep.Problems {
					found = found || strings.Contains(p.Reason, tt.wantProblem)
				}
				if !found {
					t.Fatalf("no problem mentions %q: %+v", tt.wantProblem, rep.Problems)
				}
			}
		})
	}
}

// A chain begun before the key was set stays verifiable: its plain rows
// are sealed by the first keyed row, and a change to them still shows.
func TestChainKeyedMidway(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	plain := openStore(t, dsn, audit.Options{})
	if err := plain.Record(ctx, sampleEvents("old", 3)...); err != nil {
		t.Fatal(err)
	}
	plain.Close()
	keyed := openStore(t, dsn, audit.Options{ChainKey: chainKey})
	if err := keyed.Record(ctx, sampleEvents("new", 3)...); err != nil {
		t.Fatal(err)
	}
	rep, err := keyed.VerifyWith(ctx, audit.VerifyOptions{Key: chainKey})
	if err != nil || !rep.OK() || rep.KeyedFrom != 4 || rep.Rows != 6 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	// A writer without the key is refused on a keyed chain.
	keyless := openStore(t, dsn, audit.Options{})
	if err := keyless.Record(ctx, sampleEvents("late", 1)...); err == nil || !strings.Contains(err.Error(), "SYNCD_AUDIT_KEY") {
		t.Fatalf("keyless write to a keyed chain: %v", err)
	}
	conn := connect(t, dsn)
	mustExec(t, conn, `ALTER TABLE audit_events DISABLE TRIGGER USER`)
	mustExec(t, conn, `UPDATE audit_events SET outcome = 'x' WHERE id = 2`)
	mustExec(t, conn, `ALTER TABLE audit_events ENABLE TRIGGER USER`)
	rep, err = keyed.VerifyWith(ctx, audit.VerifyOptions{Key: chainKey})
	if err != nil || rep.OK() || rep.FirstBroken != 2 {
		t.Fatalf("pre-key row changed: %+v, %v", rep, err)
	}
}

func TestCheckpointLine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, migratedDB(t), audit.Options{ChainKey: chainKey, CheckpointDir: dir})
	if err := s.Record(ctx, sampleEvents("run", 2)...); err != nil {
		t.Fatal(err)
	}
	cp, ok, err := s.WriteCheckpoint(ctx)
	if err != nil || !ok {
		t.Fatalf("WriteCheckpoint: %v %v", ok, err)
	}
	// As it appears in a JSON log line.
	logLine := `{"msg":"run finished","audit_checkpoint":"` + cp.String() + `"}`
	got, err := audit.ParseCheckpoint(chainKey, logLine)
	if err != nil || got.ID != 2 || got.Hash != cp.Hash || !got.Time.Equal(cp.Time) {
		t.Fatalf("parse %q: %+v %v", logLine, got, err)
	}
	if _, err := audit.ParseCheckpoint(otherKey, cp.String()); err == nil {
		t.Fatal("a checkpoint verified with another key")
	}
	edited := strings.Replace(cp.String(), "id=2", "id=1", 1)
	if _, err := audit.ParseCheckpoint(chainKey, edited); err == nil {
		t.Fatal("an edited checkpoint verified")
	}
	all, err := audit.ReadCheckpoints(chainKey, dir)
	if err != nil || len(all) != 1 || all[0].Hash != cp.Hash {
		t.Fatalf("ReadCheckpoints: %+v %v", all, err)
	}
}

// Verify only reads: a role that may only SELECT can run it.
func TestVerifyNeedsOnlySelect(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	s := openStore(t, dsn, audit.Options{ChainKey: chainKey})
	if err := s.Record(ctx, sampleEvents("run", 3)...); err != nil {
		t.Fatal(err)
	}
	cp, err := s.SignedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, dsn)
	mustExec(t, conn, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'syncd_verify_ro') THEN CREATE ROLE syncd_verify_ro LOGIN; END IF; END $$`)
	mustExec(t, conn, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO syncd_verify_ro`)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("syncd_verify_ro")
	ro, err := audit.Open(ctx, u.String(), audit.Options{ReadOnly: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rep, err := ro.VerifyWith(ctx, audit.VerifyOptions{Key: chainKey, Checkpoints: []audit.Checkpoint{cp}})
	if err != nil || !rep.OK() || rep.Rows != 3 {
		t.Fatalf("verify as a SELECT-only role: %+v, %v", rep, err)
	}
}

// TestCheckpointFile: the checkpoint file grows by one line each time the
// head moves and never for a head that did not; a store without a key or
// without a directory writes none; a checkpoint line that was edited is
// reported with its file and line; lines that are no checkpoint and files
// that do not exist are passed over.
func TestCheckpointFile(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	dir := t.TempDir()
	s := openStore(t, dsn, audit.Options{ChainKey: chainKey, CheckpointDir: dir})

	// The head of an empty chain is the zero checkpoint: nothing to write.
	if _, ok, err := s.WriteCheckpoint(ctx); err != nil || !ok {
		t.Fatalf("WriteCheckpoint of an empty chain: %v %v", ok, err)
	}
	var written []audit.Checkpoint
	for _, n := range []int{2, 0, 1, 0} {
		if n > 0 {
			if err := s.Record(ctx, sampleEvents(fmt.Sprintf("run%d", len(written)), n)...); err != nil {
				t.Fatal(err)
			}
		}
		c, ok, err := s.WriteCheckpoint(ctx)
		if err != nil || !ok {
			t.Fatalf("WriteCheckpoint: %+v %v %v", c, ok, err)
		}
		if n > 0 {
			written = append(written, c)
		}
	}
	all, err := audit.ReadCheckpoints(chainKey, dir, filepath.Join(dir, "no-such-file"))
	if err != nil {
		t.Fatal(err)
	}
	summary := func(cs []audit.Checkpoint) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = fmt.Sprintf("id=%d hash=%s keyed_from=%d", c.ID, c.Hash, c.KeyedFrom)
		}
		return out
	}
	if diff := cmp.Diff([]string{"id=2 hash=" + written[0].Hash + " keyed_from=1", "id=3 hash=" + written[1].Hash + " keyed_from=1"}, summary(all)); diff != "" {
		t.Errorf("checkpoints in the file (-want +got)\n%s", diff)
	}
	moved := written[1]

	// Without a key or without a directory, nothing is written.
	for _, opts := range []audit.Options{{CheckpointDir: t.TempDir()}, {ChainKey: chainKey}} {
		other := openStore(t, dsn, opts)
		if c, ok, err := other.WriteCheckpoint(ctx); err != nil || ok {
			t.Errorf("WriteCheckpoint with key %q, dir %q: %+v %v %v; want nothing written", opts.ChainKey, opts.CheckpointDir, c, ok, err)
		}
		if opts.CheckpointDir != "" {
			if entries, _ := os.ReadDir(opts.CheckpointDir); len(entries) != 0 {
				t.Errorf("a store without a key wrote %d files", len(entries))
			}
		}
	}

	// A log with other lines around an edited checkpoint.
	logFile := filepath.Join(t.TempDir(), "syncd.log")
	lines := []string{"starting", moved.String(), "scan done", strings.Replace(moved.String(), "id=3", "id=1", 1)}
	if err := os.WriteFile(logFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.ReadCheckpoints(chainKey, logFile); err == nil || !strings.Contains(err.Error(), logFile+":4:") {
		t.Errorf("ReadCheckpoints of an edited line: %v; want it to name %s:4", err, logFile)
	}
}

// TestParseCheckpoint: a checkpoint line parses back to itself, alone or
// inside other text, and is refused when a field is missing or malformed,
// without a key, or with another key.
func TestParseCheckpoint(t *testing.T) {
	cp := audit.SignCheckpoint(chainKey, audit.Checkpoint{ID: 7, Hash: "h1:abc", Time: time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC), KeyedFrom: 3})
	line := cp.String()
	empty := audit.SignCheckpoint(chainKey, audit.Checkpoint{Time: cp.Time})
	if !strings.Contains(empty.String(), " hash=- ") {
		t.Errorf("empty chain's checkpoint %q: want hash=-", empty.String())
	}
	tests := []struct {
		name    string
		key     []byte
		line    string
		want    *audit.Checkpoint // nil: cp
		wantErr string
	}{
		{name: "the line alone", key: chainKey, line: line},
		{name: "inside a log line", key: chainKey, line: `level=INFO audit_checkpoint="` + line + `"`},
		{name: "empty chain", key: chainKey, line: empty.String(), want: &empty},
		{name: "not a checkpoint", key: chainKey, line: "hello", wantErr: "not a syncd audit checkpoint"},
		{name: "field missing", key: chainKey, line: strings.Replace(line, " keyed_from=3", "", 1), wantErr: "keyed_from missing"},
		{name: "bad number", key: chainKey, line: strings.Replace(line, "id=7", "id=x", 1), wantErr: "checkpoint id"},
		{name: "no key", line: line, wantErr: "no audit key"},
		{name: "another key", key: otherKey, line: line, wantErr: "bad signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := audit.ParseCheckpoint(tt.key, tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCheckpoint: %+v, %v; want an error mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := cp
			if tt.want != nil {
				want = *tt.want
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parsed checkpoint (-want +got)\n%s", diff)
			}
		})
	}
}

// TestKeyingStartsWithAKeyedRow: a store with the key that only writes
// events the chain already holds writes no row, and so does not mark the
// chain keyed: a verifier without the key can still check it.
func TestKeyingStartsWithAKeyedRow(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	evs := sampleEvents("old", 3)
	plain := openStore(t, dsn, audit.Options{})
	if err := plain.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	plain.Close()
	keyed := openStore(t, dsn, audit.Options{ChainKey: chainKey})
	if err := keyed.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	rep, err := keyed.VerifyWith(ctx, audit.VerifyOptions{})
	if err != nil || !rep.OK() || rep.KeyedFrom != 0 || rep.Rows != 3 || rep.Head != 3 {
		t.Fatalf("verify without the key after replaying known events: %+v, %v", rep, err)
	}
	if err := keyed.Record(ctx, sampleEvents("new", 1)...); err != nil {
		t.Fatal(err)
	}
	rep, err = keyed.VerifyWith(ctx, audit.VerifyOptions{Key: chainKey})
	if err != nil || !rep.OK() || rep.KeyedFrom != 4 || rep.Rows != 4 {
		t.Fatalf("verify after the first keyed row: %+v, %v", rep, err)
	}
}

// TestAppendCheckpointReportsAFailedWrite: a checkpoint that could not be
// written (here the file is /dev/full, as on a full disk) is an error,
// never reported as kept.
func TestAppendCheckpointReportsAFailedWrite(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", filepath.Join(dir, "audit-checkpoints.log")); err != nil {
		t.Fatal(err)
	}
	cp := audit.SignCheckpoint(chainKey, audit.Checkpoint{ID: 1, Hash: "h1:abc", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err := audit.AppendCheckpoint(dir, cp); err == nil {
		t.Fatal("AppendCheckpoint to a full disk returned nil")
	}
}
