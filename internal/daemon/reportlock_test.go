package daemon_test

import (
	"testing"
	"time"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
)

// TestReportDaemonNeverTakesTheApplyLock: a daemon in report mode, given
// the database for leader election and a short leader interval, runs its
// startup reconcile and a reload without ever holding the advisory lock,
// so that `syncd apply` beside it gets the lock at once.
func TestReportDaemonNeverTakesTheApplyLock(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	db := pool(t, env)
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport, DatabaseURL: env.DB, LeaderInterval: 10 * time.Millisecond})
	d.waitReady(t)
	// A second reconcile: by its end the lock holder, had it been started,
	// would have tried the lock many times over.
	d.sighup()
	waitFor(t, "the reload's run to finish", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'signal' and finished_at is not null`) == 1
	})
	if n := count(t, db, `select count(*) from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`); n != 0 {
		t.Fatalf("%d advisory locks held beside a report-mode daemon, want none", n)
	}
	release, err := pglock.AcquireApplyLock(t.Context(), env.DB, 0)
	if err != nil {
		t.Fatalf("the apply lock beside a report-mode daemon: %v", err)
	}
	release()
	if n := count(t, db, `select count(*) from runs where mode <> 'report'`); n != 0 {
		t.Errorf("%d runs of a report-mode daemon were not report runs", n)
	}
}
