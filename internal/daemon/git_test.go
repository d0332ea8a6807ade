package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/internal/watch"
)

// git runs git in dir with a fixed identity and no user configuration.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// A git checkout that rewrites 100 manifests is one change: exactly one
// reconcile, triggered by the watcher, planning all 100 resources, with the
// new commit recorded on every one of its events.
func TestGitCheckoutOfManyFilesIsOneReconcile(t *testing.T) {
	const files = 100
	env := testenv.New(t, testenv.Options{})
	git(t, env.Dir, "init", "-q", "-b", "main")
	for i := range files {
		env.Write(t, fmt.Sprintf("patchworks/c%03d.yaml", i), testenv.PatchworksDoc(fmt.Sprintf("c%03d", i), fmt.Sprintf("Connector %03d", i)))
	}
	git(t, env.Dir, "add", "-A")
	git(t, env.Dir, "commit", "-q", "-m", "100 connectors")
	mainRev := git(t, env.Dir, "rev-parse", "HEAD")
	git(t, env.Dir, "checkout", "-q", "-b", "paris")
	for i := range files {
		env.Write(t, fmt.Sprintf("patchworks/c%03d.yaml", i), strings.Replace(
			testenv.PatchworksDoc(fmt.Sprintf("c%03d", i), fmt.Sprintf("Connector %03d", i)), "Europe/London", "Europe/Paris", 1))
	}
	git(t, env.Dir, "commit", "-q", "-am", "move to Paris")
	parisRev := git(t, env.Dir, "rev-parse", "HEAD")
	git(t, env.Dir, "checkout", "-q", "main")
	db := pool(t, env)

	// A longer quiet period than the other tests: git writes the files in
	// one burst, and the test is about that burst, not the debounce.
	quiet := 200 * time.Millisecond
	d := startDaemon(t, env, daemon.Options{Mode: syncd.ModeReport, Watch: watch.Options{Quiet: quiet, MaxDelay: 10 * time.Second}})
	d.waitReady(t)
	startup := events(t, db, `r.trigger = 'startup' and e.event_type = 'run_started'`)
	if len(startup) != 1 || startup[0].Revision != mainRev {
		t.Fatalf("startup run_started rows %+v, want one with revision %s", startup, mainRev)
	}

	git(t, env.Dir, "checkout", "-q", "paris")
	waitFor(t, "a finished watch run", func() bool {
		return count(t, db, `select count(*) from runs where trigger = 'watch' and finished_at is not null`) > 0
	})
	// A barrier instead of a pause: one more file, written after the
	// checkout's run finished, gets a watch run of its own. A straggling
	// event of the checkout shows either as a run between the two or as
	// more than the sentinel planned in the sentinel's run.
	env.Write(t, "patchworks/sentinel.yaml", testenv.PatchworksDoc("sentinel", "Sentinel"))
	waitFor(t, "the sentinel's watch run", func() bool {
		return count(t, db, `select count(*) from runs r where r.trigger = 'watch' and r.finished_at is not null
			and exists (select 1 from audit_events e where e.run_id = r.id and e.resource_name = 'sentinel')`) == 1
	})
	if n := count(t, db, `select count(*) from runs where trigger = 'watch'`); n != 2 {
		t.Errorf("the checkout caused %d watch runs, want 1", n-1)
	}
	if n := count(t, db, `select count(*) from audit_events e join runs r on r.id = e.run_id where r.trigger = 'watch'
		and e.event_type = 'change_planned' and exists (select 1 from audit_events s where s.run_id = r.id and s.resource_name = 'sentinel')`); n != 1 {
		t.Errorf("the sentinel's run planned %d changes, want only the sentinel's", n)
	}
	var firstWatch string
	if err := db.QueryRow(t.Context(), `select id from runs where trigger = 'watch' order by started_at limit 1`).Scan(&firstWatch); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `select count(*) from audit_events e join runs r on r.id = e.run_id
		where r.trigger = 'watch' and e.event_type = 'run_started'`); n != 2 {
		t.Errorf("%d run_started rows with trigger watch, want 2 (the checkout's and the sentinel's)", n)
	}
	got := events(t, db, `r.id = $1`, firstWatch)
	planned := 0
	for _, e := range got {
		if e.Revision != parisRev {
			t.Errorf("%s %s/%s has manifest_revision %q, want %s", e.Type, e.Kind, e.Name, e.Revision, parisRev)
		}
		if e.Type == "change_planned" {
			planned++
		}
	}
	if planned != files {
		t.Errorf("the watch run planned %d changes, want %d", planned, files)
	}
	var runRev string
	if err := db.QueryRow(t.Context(), `select manifest_revision from runs where id = $1`, firstWatch).Scan(&runRev); err != nil {
		t.Fatal(err)
	}
	if runRev != parisRev {
		t.Errorf("runs.manifest_revision %q, want %s", runRev, parisRev)
	}
}
