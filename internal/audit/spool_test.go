package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/syncd"
)

func storedKeys(t *testing.T, s *audit.Store) []string {
	t.Helper()
	evs, err := s.Events(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(evs))
	for i, e := range evs {
		keys[i] = e.Event.ID
	}
	return keys
}

func keysOf(evs []syncd.Event) []string {
	keys := make([]string, len(evs))
	for i, e := range evs {
		keys[i] = e.ID
	}
	return keys
}

// flushUntilEmpty retries Flush while the background loop may hold the
// drain, failing after a generous number of attempts (never a clock
// assertion: the bound only turns a hang into a failure).
func flushUntilEmpty(t *testing.T, s *audit.Store) {
	t.Helper()
	for i := 0; ; i++ {
		err := s.Flush(context.Background())
		if err == nil && s.SpoolDepth() == 0 {
			return
		}
		if i == 600 {
			t.Fatalf("spool not drained: depth %d, last error %v", s.SpoolDepth(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOutage stops the database in the middle of a stream of events, keeps
// recording, and expects every event exactly once and in order once the
// database is back — with the same store, and with a store reopened from
// the spool after a restart of syncd.
func TestOutage(t *testing.T) {
	tests := []struct {
		name   string
		reopen bool // close the store during the outage and open a new one
	}{
		{name: "same store"},
		{name: "reopened from the spool", reopen: true},
	}
	// One private cluster serves both cases: each leaves it running.
	cluster := pgtest.StartCluster(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.CreateDatabase(t, cluster.URL())
			spoolDir := t.TempDir()
			opts := audit.Options{SpoolDir: spoolDir, BatchSize: 7}
			s := openStore(t, dsn, opts)
			ctx := context.Background()
			var all []syncd.Event
			record := func(s *audit.Store, run string, n int) {
				t.Helper()
				evs := sampleEvents(run, n)
				for i := 0; i < n; i += 4 {
					if err := s.Record(ctx, evs[i:min(i+4, n)]...); err != nil {
						t.Fatalf("record during %s: %v", run, err)
					}
				}
				all = append(all, evs...)
			}

			record(s, "before", 10)
			cluster.Stop()
			record(s, "during", 20)
			if got := s.SpoolDepth(); got != 20 {
				t.Fatalf("spool depth during the outage = %d, want 20", got)
			}
			if s.Healthy() {
				t.Error("Healthy() during the outage")
			}
			if tt.reopen {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = openStore(t, dsn, opts)
				if got := s.SpoolDepth(); got != 20 {
					t.Fatalf("spool depth after reopening = %d, want 20", got)
				}
				record(s, "reopened", 5)
			}
			cluster.Start()
			record(s, "after", 10)
			flushUntilEmpty(t, s)
			record(s, "drained", 3)
			// Once the spool is drained, events go straight to the database.
			if got := s.SpoolDepth(); got != 0 {
				t.Errorf("spool depth %d after recording with the spool drained, want 0", got)
			}

			if diff := cmp.Diff(keysOf(all), storedKeys(t, s)); diff != "" {
				t.Errorf("stored events (-want +got)\n%s", diff)
			}
			rep, err := s.Verify(ctx)
			if err != nil || !rep.OK() {
				t.Errorf("verify after the outage: %+v, %v", rep, err)
			}
			if !s.Healthy() {
				t.Error("not Healthy() after the database came back")
			}
		})
	}

	t.Run("concurrent producers", func(t *testing.T) {
		dsn := pgtest.CreateDatabase(t, cluster.URL())
		s := openStore(t, dsn, audit.Options{BatchSize: 16})
		ctx := context.Background()
		const producers, perProducer = 4, 150
		var g errgroup.Group
		for p := range producers {
			g.Go(func() error {
				for i := range perProducer {
					e := syncd.Event{ID: fmt.Sprintf("p%d-%04d", p, i), Type: syncd.EventChangePlanned}
					if err := s.Record(ctx, e); err != nil {
						return err
					}
				}
				return nil
			})
		}
		finished := make(chan struct{})
		go func() { _ = g.Wait(); close(finished) }()
		// Two outages while the producers run; the first must hit them
		// in flight, or the test proves nothing.
		for i := range 2 {
			if inFlight := waitStored(t, dsn, 50, finished); !inFlight && i == 0 {
				t.Fatal("the producers finished before the first outage")
			}
			cluster.Stop()
			cluster.Start()
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		flushUntilEmpty(t, s)
		got := storedKeys(t, s)
		if len(got) != producers*perProducer {
			t.Fatalf("%d events stored, want %d", len(got), producers*perProducer)
		}
		last := map[string]string{}
		for _, k := range got {
			p := k[:2]
			if k <= last[p] {
				t.Fatalf("producer %s out of order: %s after %s", p, k, last[p])
			}
			last[p] = k
		}
		if rep, err := s.Verify(ctx); err != nil || !rep.OK() {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	})

	// With nothing to write, the background loop still notices the
	// database going away and coming back.
	t.Run("health without events", func(t *testing.T) {
		s := openStore(t, pgtest.CreateDatabase(t, cluster.URL()), audit.Options{})
		waitHealthy := func(want bool) {
			t.Helper()
			for i := 0; s.Healthy() != want; i++ {
				if i == 1200 {
					t.Fatalf("Healthy() still %v after a minute, want %v", !want, want)
				}
				time.Sleep(50 * time.Millisecond) // polling interval
			}
		}
		waitHealthy(true)
		cluster.Stop()
		waitHealthy(false)
		cluster.Start()
		waitHealthy(true)
	})
}

// waitStored waits until the database holds n more events than when it
// was called, so that an outage hits a stream in flight, and reports true;
// it reports false when the producers finished first. It fails the test
// after two minutes.
func waitStored(t *testing.T, dsn string, n int, finished <-chan struct{}) bool {
	t.Helper()
	count := func() int {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return -1
		}
		defer conn.Close(context.Background())
		var c int
		if conn.QueryRow(context.Background(), "select count(*) from audit_events").Scan(&c) != nil {
			return -1
		}
		return c
	}
	start := count()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if c := count(); start >= 0 && c >= start+n {
			return true
		}
		select {
		case <-finished:
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database did not gain %d events within 2 minutes (from %d)", n, start)
		}
		if start < 0 {
			start = count()
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// TestReplayIsIdempotent records the same events twice (as a spool replay
// after a crash between commit and truncation would) and a batch that
// repeats an event within itself.
func TestReplayIsIdempotent(t *testing.T) {
	s := openStore(t, migratedDB(t), audit.Options{})
	ctx := context.Background()
	evs := sampleEvents("r", 6)
	for _, batch := range [][]syncd.Event{evs[:4], evs[2:], append(evs[:1:1], evs[0])} {
		if err := s.Record(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
		t.Errorf("stored events (-want +got)\n%s", diff)
	}
}

// TestSpoolSurvivesTornWrite simulates a crash in the middle of an append:
// the half-written line is cut off, and what was complete is written.
func TestSpoolSurvivesTornWrite(t *testing.T) {
	dsn := migratedDB(t)
	dir := t.TempDir()
	// A store on an address where nothing listens spools everything.
	down, err := audit.Open(context.Background(), "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
		audit.Options{SpoolDir: dir, Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	evs := sampleEvents("torn", 3)
	if err := down.Record(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	down.Close()
	f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `{"key":"half-writ`)
	f.Close()

	s := openStore(t, dsn, audit.Options{SpoolDir: dir})
	if got := s.SpoolDepth(); got != 3 {
		t.Fatalf("depth = %d, want 3", got)
	}
	flushUntilEmpty(t, s)
	if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
		t.Errorf("stored events (-want +got)\n%s", diff)
	}
}

func TestSpoolDirIsExclusive(t *testing.T) {
	dir := t.TempDir()
	dsn := migratedDB(t)
	openStore(t, dsn, audit.Options{SpoolDir: dir})
	if s, err := audit.Open(context.Background(), dsn, audit.Options{SpoolDir: dir, Logger: quietLogger()}); err == nil {
		s.Close()
		t.Fatal("a second store opened the same spool directory")
	}
}

func TestRecordRejectsUnknownType(t *testing.T) {
	s := openStore(t, migratedDB(t), audit.Options{})
	if err := s.Record(context.Background(), syncd.Event{Type: "made_up"}); err == nil {
		t.Fatal("recorded an event of an unknown type")
	}
}

// TestSpoolRejectsWhatTheDatabaseRefuses: a spooled event the database
// will never accept (here a type a newer syncd knows, and changes with a
// NUL that jsonb refuses) is set aside, and the
// events behind it are not held up.
func TestSpoolRejectsWhatTheDatabaseRefuses(t *testing.T) {
	dir := t.TempDir()
	lines := `{"key":"a","occurred_at":"2026-03-01T12:00:00Z","event_type":"run_started"}
{"key":"b","occurred_at":"2026-03-01T12:00:01Z","event_type":"from_the_future"}
not json at all
{"key":"n","occurred_at":"2026-03-01T12:00:01Z","event_type":"run_started","changes":[{"path":"/nul\u0000"}]}
{"key":"c","occurred_at":"2026-03-01T12:00:02Z","event_type":"run_finished"}
`
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, migratedDB(t), audit.Options{SpoolDir: dir})
	flushUntilEmpty(t, s)
	if diff := cmp.Diff([]string{"a", "c"}, storedKeys(t, s)); diff != "" {
		t.Errorf("stored (-want +got)\n%s", diff)
	}
	rejected, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rejected), "\n"); n != 3 || !strings.Contains(string(rejected), "from_the_future") || !strings.Contains(string(rejected), `"key":"n"`) {
		t.Errorf("rejected file:\n%s\nwant the refused events (a violated constraint, a data exception) and the undecodable line", rejected)
	}
}

// TestWritesKeepTheBatchSize: BatchSize is the most events one transaction
// writes, from Record and from a drained spool alike; every batch keeps
// the order, and a spooled line without an event key is set aside.
func TestWritesKeepTheBatchSize(t *testing.T) {
	ctx := context.Background()
	batches := func(t *testing.T, dsn string) []int {
		t.Helper()
		conn := connect(t, dsn)
		rows, err := conn.Query(ctx, `SELECT count(*) FROM audit_events GROUP BY xmin::text ORDER BY min(id)`)
		if err != nil {
			t.Fatal(err)
		}
		sizes, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return sizes
	}
	t.Run("record", func(t *testing.T) {
		dsn := migratedDB(t)
		s := openStore(t, dsn, audit.Options{BatchSize: 3})
		evs := sampleEvents("direct", 10)
		if err := s.Record(ctx, evs...); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
			t.Errorf("stored events (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]int{3, 3, 3, 1}, batches(t, dsn)); diff != "" {
			t.Errorf("rows per transaction (-want +got)\n%s", diff)
		}
	})
	t.Run("spool", func(t *testing.T) {
		dir := t.TempDir()
		down, err := audit.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
			audit.Options{SpoolDir: dir, Logger: quietLogger(), FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		evs := sampleEvents("spooled", 10)
		if err := down.Record(ctx, evs[:5]...); err != nil {
			t.Fatal(err)
		}
		down.Close()
		f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, `{"occurred_at":"2026-03-01T12:00:00Z","event_type":"run_started"}`) // no key
		f.Close()
		down, err = audit.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
			audit.Options{SpoolDir: dir, Logger: quietLogger(), FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := down.Record(ctx, evs[5:]...); err != nil {
			t.Fatal(err)
		}
		down.Close()

		dsn := migratedDB(t)
		s := openStore(t, dsn, audit.Options{SpoolDir: dir, BatchSize: 3})
		if got := s.SpoolDepth(); got != 11 {
			t.Fatalf("spool depth %d, want 11", got)
		}
		flushUntilEmpty(t, s)
		if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
			t.Errorf("stored events (-want +got)\n%s", diff)
		}
		// The keyless line is set aside without taking a place in a batch.
		if diff := cmp.Diff([]int{3, 3, 3, 1}, batches(t, dsn)); diff != "" {
			t.Errorf("rows per transaction (-want +got)\n%s", diff)
		}
		rejected, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
		if err != nil || !strings.Contains(string(rejected), `"event_type":"run_started"`) {
			t.Errorf("rejected file %q, %v; want the keyless line", rejected, err)
		}
	})
}

// TestFailedCommitSpools: a batch whose COMMIT fails (here a deferred
// constraint trigger refuses it at commit time) is not in the database,
// so Record must keep its events in the spool, and they are written once
// the database accepts them.
func TestFailedCommitSpools(t *testing.T) {
	ctx := context.Background()
	dsn := migratedDB(t)
	conn := connect(t, dsn)
	mustExec(t, conn, `CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'commit refused'; END $$`)
	mustExec(t, conn, `CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()`)
	s := openStore(t, dsn, audit.Options{FlushInterval: time.Hour})
	evs := sampleEvents("refused", 3)
	if err := s.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if got := s.SpoolDepth(); got != 3 {
		t.Fatalf("spool depth %d after a refused commit, want 3", got)
	}
	if got := storedKeys(t, s); len(got) != 0 {
		t.Fatalf("stored %v although the commit failed", got)
	}
	mustExec(t, conn, `DROP TRIGGER refuse_commit ON audit_events`)
	flushUntilEmpty(t, s)
	if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
		t.Errorf("stored events (-want +got)\n%s", diff)
	}
	if rep, err := s.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("verify: %+v %v", rep, err)
	}
}

// TestSpoolAppendsAfterATornWrite: events recorded after a torn write was
// cut off start on a line of their own, so none of them is lost with the
// torn line.
func TestSpoolAppendsAfterATornWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	openDown := func() *audit.Store {
		t.Helper()
		s, err := audit.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
			audit.Options{SpoolDir: dir, Logger: quietLogger(), FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	evs := sampleEvents("torn", 4)
	down := openDown()
	if err := down.Record(ctx, evs[:2]...); err != nil {
		t.Fatal(err)
	}
	down.Close()
	f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `{"key":"half-writ`)
	f.Close()
	down = openDown()
	if err := down.Record(ctx, evs[2:]...); err != nil {
		t.Fatal(err)
	}
	down.Close()

	s := openStore(t, migratedDB(t), audit.Options{SpoolDir: dir})
	flushUntilEmpty(t, s)
	if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
		t.Errorf("stored events (-want +got)\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl")); err == nil {
		t.Errorf("lines rejected after a torn write:\n%s", b)
	}
}

// TestSpoolDepthCountsWhatIsLeft: when a drain stops partway (the database
// refuses a batch for now), SpoolDepth is the number of events still
// waiting, and they are written once the database accepts them.
func TestSpoolDepthCountsWhatIsLeft(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	down, err := audit.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
		audit.Options{SpoolDir: dir, Logger: quietLogger(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	evs := sampleEvents("left", 6)
	if err := down.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	down.Close()

	dsn := migratedDB(t)
	conn := connect(t, dsn)
	// Not a verdict on the row (not class 22 or 23): the batch is retried.
	mustExec(t, conn, `CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'not now'; END $$`)
	mustExec(t, conn, `CREATE TRIGGER refuse_row BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.event_key = 'left-0004') EXECUTE FUNCTION refuse_row()`)
	s := openStore(t, dsn, audit.Options{SpoolDir: dir, BatchSize: 2, FlushInterval: time.Hour})
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush returned nil although a batch was refused")
	}
	if got := s.SpoolDepth(); got != 2 {
		t.Errorf("spool depth %d after writing two batches of two, want 2", got)
	}
	if diff := cmp.Diff(keysOf(evs[:4]), storedKeys(t, s)); diff != "" {
		t.Errorf("stored events (-want +got)\n%s", diff)
	}
	mustExec(t, conn, `DROP TRIGGER refuse_row ON audit_events`)
	flushUntilEmpty(t, s)
	if diff := cmp.Diff(keysOf(evs), storedKeys(t, s)); diff != "" {
		t.Errorf("stored events (-want +got)\n%s", diff)
	}
}
