package watch

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSecurityHashTreeStaysInside: hashing never reads through a symlink
// that leads outside the watched directory and never opens a fifo (issue
// 12); links that stay inside are still followed.
func TestSecurityHashTreeStaysInside(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "m"), filepath.Join(base, "outside")
	write(t, dir, "a.yaml", "inside")
	write(t, outside, "secret", "outside content")
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link.yaml")))
	must(t, os.Symlink("../outside/secret", filepath.Join(dir, "rel.yaml")))
	must(t, os.Symlink(outside, filepath.Join(dir, "linkdir")))
	must(t, os.Symlink("a.yaml", filepath.Join(dir, "inner.yaml")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644))

	done := make(chan map[string]sum, 1)
	go func() {
		sums, err := hashTree(dir)
		if err != nil {
			t.Error(err)
		}
		done <- sums
	}()
	var sums map[string]sum
	select {
	case sums = <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("hashTree did not return within %s (blocked on the fifo?)", waitTimeout)
	}
	inside := sum(sha256.Sum256([]byte("inside")))
	want := map[string]sum{
		"a.yaml":     inside,
		"inner.yaml": inside,
		"link.yaml":  {},
		"rel.yaml":   {},
		"linkdir":    {},
		"pipe.yaml":  {},
	}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("sums (-want +got):\n%s", diff)
	}
}

// TestSecurityWatchFifo: a fifo appearing among the manifests is reported
// (so the loader can name it) without blocking the watch.
func TestSecurityWatchFifo(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "v1")
	changes := startWatcher(t, dir, Options{})

	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644))
	if diff := cmp.Diff(Change{Paths: []string{"pipe.yaml"}}, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	write(t, dir, "a.yaml", "v2")
	if diff := cmp.Diff(Change{Paths: []string{"a.yaml"}}, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
}
