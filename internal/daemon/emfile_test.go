package daemon_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/testenv"
)

// isolatedEnv marks the child process runIsolated starts.
const isolatedEnv = "SYNCD_TEST_ISOLATED"

// runIsolated runs the calling test again, alone, in a child process of
// the test binary, and fails with the child's output unless it passed
// there. It returns true in that child, where the test's body is to run:
// a test that changes process-wide state (a resource limit) would
// otherwise disturb the tests running in parallel with it.
func runIsolated(t *testing.T) (child bool) {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		return true
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), isolatedEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a child process: %v\n%s", t.Name(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()+" ") {
		t.Fatalf("%s did not pass in its child process:\n%s", t.Name(), out)
	}
	return false
}

// A scan that cannot open the manifests because the process is out of
// file descriptors is a failed run, not a manifest_invalid: nothing is
// known to be wrong with the manifests. The limit is lowered for the
// whole process, so the test runs in a process of its own.
func TestScanOutOfDescriptorsIsAFailedRun(t *testing.T) {
	if !runIsolated(t) {
		return
	}
	env := testenv.New(t, testenv.Options{})
	env.Write(t, "make/alpha.yaml", testenv.MakeDoc("alpha", "app-one", "Alpha", "apikey"))
	d := startDaemon(t, env, daemon.Options{})
	d.waitReady(t)
	db := pool(t, env)

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = uint64(len(fds)) + 64
	if low.Cur > old.Cur {
		low.Cur = old.Cur
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	release := func() {
		for _, f := range held {
			f.Close()
		}
		held = nil
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restore RLIMIT_NOFILE: %v", err)
		}
	}
	defer release()
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("open: %v", err)
			}
			break
		}
		held = append(held, f)
	}
	d.sighup()
	waitFor(t, "the scan to fail for lack of descriptors", func() bool {
		return strings.Contains(d.logs.String(), "scan failed for lack of resources")
	})
	release()
	if err := env.Store.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_events WHERE event_type = 'manifest_invalid'`); n != 0 {
		t.Errorf("%d manifest_invalid rows for a scan that ran out of descriptors", n)
	}
	waitFor(t, "a run_finished row with outcome error", func() bool {
		return count(t, db, `SELECT count(*) FROM audit_events WHERE event_type = 'run_finished' AND outcome = 'error' AND error LIKE '%lack of resources%'`) == 1
	})
}
