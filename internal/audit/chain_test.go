package audit_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

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
