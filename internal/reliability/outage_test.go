package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/bench"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/pgtest"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// tally wraps the executor's recorder: it remembers every event it made
// durable and which resources have a write announced (change_planned
// recorded, outcome not yet recorded).
type tally struct {
	inner interface {
		Record(ctx context.Context, events ...syncd.Event) error
	}
	mu         sync.Mutex
	ids        []string
	open       map[syncd.Key]bool
	violations []string
	writes     int
}

func (r *tally) Record(ctx context.Context, events ...syncd.Event) error {
	if err := r.inner.Record(ctx, events...); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		r.ids = append(r.ids, e.ID)
		k := syncd.Key{Kind: e.Kind, Name: e.Name}
		switch e.Type {
		case syncd.EventChangePlanned:
			r.open[k] = true
		case syncd.EventChangeApplied, syncd.EventChangeFailed:
			r.open[k] = false
		}
	}
	return nil
}

func (r *tally) write(op string, k syncd.Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	if !r.open[k] {
		r.violations = append(r.violations, fmt.Sprintf("%s of %s without a persisted change_planned", op, k))
	}
}

// guarded checks, at every write, that the tally holds its announcement.
type guarded struct {
	platform.Provider
	t *tally
}

func (g guarded) Create(ctx context.Context, d *syncd.Desired) (string, error) {
	g.t.write("create", d.Key)
	return g.Provider.Create(ctx, d)
}

func (g guarded) Update(ctx context.Context, id string, d *syncd.Desired, paths []string) error {
	g.t.write("update", d.Key)
	return g.Provider.Update(ctx, id, d, paths)
}

func (g guarded) Delete(ctx context.Context, id string) error {
	g.t.write("delete", syncd.Key{Name: "remote " + id})
	return g.Provider.Delete(ctx, id)
}

func (g guarded) Test(ctx context.Context, id string) error {
	if tp, ok := g.Provider.(interface {
		Test(context.Context, string) error
	}); ok {
		return tp.Test(ctx, id)
	}
	return nil
}

// TestPostgresOutageUnderDaemon stops PostgreSQL under a daemon in apply
// mode while it applies and while manifests keep changing, starts it
// again, and checks that every event is stored exactly once, that none is
// lost, and that no platform write happened without a persisted event.
func TestPostgresOutageUnderDaemon(t *testing.T) {
	t.Parallel()
	outage := pick(4*time.Second, 60*time.Second)
	cluster := pgtest.StartCluster(t)
	db := pgtest.CreateDatabase(t, cluster.URL())
	e := testenv.New(t, testenv.Options{DatabaseURL: db, Knobs: emulator.Knobs{Latency: 15 * time.Millisecond, DeleteLag: -1}})
	rec := &tally{inner: e.Store, open: map[syncd.Key]bool{}}
	e.Executor.Recorder = rec
	for k, p := range e.Executor.Providers {
		e.Executor.Providers[k] = guarded{Provider: p, t: rec}
	}
	f := bench.Fleet{Make: 12, Apps: 2, Patchworks: 12}
	e.Emu.AddMakeApps(f.AppNames()...)
	if err := f.Write(e.Dir); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	addrCh := make(chan string, 1)
	d, err := daemon.New(daemon.Options{
		ManifestsDir: e.Dir, Mode: syncd.ModeApply, Schedule: "@every 1s", Listen: "127.0.0.1:0",
		Runner: e.Runner, Store: e.Store, Getenv: e.Getenv, Ready: func(a string) { addrCh <- a },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("daemon: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	if err := testenv.WaitReady(<-addrCh, time.Minute); err != nil {
		t.Fatal(err)
	}

	// Change every Make connection, wait for the apply to start writing,
	// and pull the database from under it.
	rec.mu.Lock()
	before := rec.writes
	rec.mu.Unlock()
	for i := range f.Make {
		writeFile(t, e.Dir, bench.MakeFile(i), f.MakeManifest(i, 2))
	}
	waitUntil(t, "the apply of the Make edits to start writing", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.writes > before
	})
	cluster.Stop()
	down := time.Now()
	t.Logf("database stopped for at least %s", outage)
	// More changes arrive while it is down; the daemon applies them from
	// the inventory it last read and spools their events.
	for i := range f.Patchworks {
		writeFile(t, e.Dir, bench.PatchworksFile(i), strings.Replace(bench.PatchworksManifest(i), "Europe/London", "UTC", 1))
	}
	waitUntil(t, "the Patchworks edits to be applied while the database is down", func() bool {
		n := 0
		for _, c := range e.Emu.Connectors() {
			if c.Attributes["timezone"] == "UTC" {
				n++
			}
		}
		return n == f.Patchworks
	})
	// The outage lasts its full length (the long form's 60 s is the
	// scenario, not a wait for anything).
	if rest := outage - time.Since(down); rest > 0 {
		time.Sleep(rest)
	}
	spooled := e.Store.SpoolDepth()
	if spooled == 0 {
		t.Errorf("nothing spooled while the database was down, though %d connectors were updated meanwhile", f.Patchworks)
	}
	cluster.Start()
	t.Logf("database back; %d events spooled", spooled)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		if e.Store.SpoolDepth() == 0 && !e.Plan(t, false).HasChanges() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged two minutes after the database came back (spool %d)", e.Store.SpoolDepth())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	stop()
	if err := e.Store.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	rows := auditRows(t, db)
	if n := queryInt(t, db, "SELECT count(*) - count(DISTINCT event_key) FROM audit_events"); n != 0 {
		t.Errorf("%d duplicated event keys", n)
	}
	keys := map[string]int{}
	for _, k := range queryStrings(t, db, "SELECT event_key FROM audit_events") {
		keys[k]++
	}
	rec.mu.Lock()
	lost := 0
	for _, id := range rec.ids {
		if keys[id] != 1 {
			lost++
			t.Errorf("event %s stored %d times, want exactly once", id, keys[id])
		}
	}
	for _, v := range rec.violations {
		t.Error(v)
	}
	t.Logf("%d executor events (%d lost), %d platform writes, %d audit rows, %d spooled during the outage",
		len(rec.ids), lost, rec.writes, len(rows), spooled)
	rec.mu.Unlock()
	runs := map[string]int{}
	for _, r := range rows {
		switch r.Type {
		case "run_started":
			runs[r.RunID]++
		case "run_finished":
			runs[r.RunID] += 10
		}
	}
	for id, n := range runs {
		if n != 11 {
			t.Errorf("run %s: %d run_started and %d run_finished rows, want 1 and 1", id, n%10, n/10)
		}
	}
	checkWritesAnnounced(t, rows)
	if _, dups := objects(e.Emu); len(dups) > 0 {
		t.Errorf("duplicates: %v", dups)
	}
}

// waitUntil polls cond until it holds and fails the test loudly after two
// minutes: generous for a shared machine, never reached by a passing run.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 2 minutes waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
