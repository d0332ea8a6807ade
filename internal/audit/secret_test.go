package audit_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// TestNoSecretInDatabase records everything a run with secrets produces —
// through the producers' contract (redacted changes, keyed hashes) and with
// a producer that forgot to redact a change marked sensitive — then dumps
// the database and the spool and looks for the secret.
func TestNoSecretInDatabase(t *testing.T) {
	const secret = "s3cr3t-Value-7f1d"
	dsn := migratedDB(t)
	spool := t.TempDir()
	s := openStore(t, dsn, audit.Options{SpoolDir: spool})
	st := state.New(s.DB(), s, nil)
	ctx := context.Background()
	h := syncd.NewHasher([]byte("hmac key from config"))
	key := syncd.Key{Kind: syncd.MakeConnection, Name: "acme"}

	evs := []syncd.Event{
		{Type: syncd.EventChangeApplied, Kind: key.Kind, Name: key.Name, Action: "update", Changes: []syncd.FieldChange{
			{Path: "/common/clientSecret", Before: syncd.Redacted, After: syncd.Redacted, Sensitive: true},
		}},
		// A producer bug: marked sensitive, value left in. The store
		// redacts it anyway.
		{Type: syncd.EventChangePlanned, Kind: key.Kind, Name: key.Name, Action: "update", Changes: []syncd.FieldChange{
			{Path: "/common/apiToken", Before: nil, After: secret, Sensitive: true},
		}},
	}
	if err := s.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(ctx, syncd.Binding{Key: key, RemoteID: "conn-1", Hashes: map[string]string{
		"/common/clientSecret": h.Hash(secret),
	}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(ctx, syncd.Binding{Key: key, RemoteID: "conn-1", Hashes: map[string]string{"/common/x": secret}}); err == nil {
		t.Error("Bind accepted a raw value as a hash")
	}
	if _, err := s.ScanDrift(ctx, audit.DriftScan{Scanned: []syncd.Key{key}, Drifted: map[syncd.Key]audit.DriftObservation{
		key: {RemoteID: "conn-1", Fields: []syncd.FieldChange{{Path: "/common/clientSecret", Before: secret, After: "other", Sensitive: true}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, syncd.RunRecord{Run: syncd.Run{ID: "r1"}, Outcome: "ok", Summary: map[string]int{"update": 1}}); err != nil {
		t.Fatal(err)
	}

	dump := exec.Command(pgtest.Bin("pg_dump"), "--data-only", "--inserts", dsn)
	out, err := dump.CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "clientSecret") {
		t.Fatal("the dump does not contain the recorded rows; the check below would prove nothing")
	}
	if strings.Contains(string(out), secret) {
		t.Error("the secret value is in the database dump")
	}
	entries, _ := os.ReadDir(spool)
	for _, e := range entries {
		b, _ := os.ReadFile(spool + "/" + e.Name())
		if strings.Contains(string(b), secret) {
			t.Errorf("the secret value is in spool file %s", e.Name())
		}
	}
}
