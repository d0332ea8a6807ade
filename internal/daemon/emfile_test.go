package daemon_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/testenv"
)

// A scan that cannot open the manifests because the process is out of
// file descriptors is a failed run, not a manifest_invalid: nothing is
// known to be wrong with the manifests.
func TestScanOutOfDescriptorsIsAFailedRun(t *testing.T) {
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
