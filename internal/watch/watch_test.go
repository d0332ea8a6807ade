package watch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/google/go-cmp/cmp"
)

// These tests use the real kernel watch on t.TempDir(). They wait for a
// Change with a generous timeout and never assert how long anything took;
// "no Change" is checked over a short window, which can only make a broken
// watcher pass, never a working one fail.

const (
	testQuiet   = 50 * time.Millisecond
	waitTimeout = 20 * time.Second
	quietWindow = 400 * time.Millisecond
)

// startWatcher runs a Watcher on dir until the test ends.
func startWatcher(t *testing.T, dir string, opts Options) <-chan Change {
	t.Helper()
	if opts.Quiet == 0 {
		opts.Quiet = testQuiet
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 10 * opts.Quiet
	}
	w, err := New(dir, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan Change)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, changes) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return changes
}

func next(t *testing.T, changes <-chan Change) Change {
	t.Helper()
	select {
	case c := <-changes:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("no change within %s", waitTimeout)
		return Change{}
	}
}

// collect reads changes until together they name every path of want, and
// say Full when want does; it fails at once on a path outside want and
// extra, or on a Full change want does not expect, and returns what they
// said of want's paths. On a loaded machine one burst of writes can
// settle in two parts, and a file seen while it was still being written
// is reported again once its content is complete: both are the watcher
// working. extra are paths an earlier step wrote that may be reported
// again for that reason.
func collect(t *testing.T, changes <-chan Change, want Change, extra ...string) Change {
	t.Helper()
	allowed := map[string]bool{}
	for _, p := range append(slices.Clone(want.Paths), extra...) {
		allowed[p] = true
	}
	var got Change
	deadline := time.After(waitTimeout)
	for {
		covered := got.Full == want.Full
		for _, p := range want.Paths {
			covered = covered && slices.Contains(got.Paths, p)
		}
		if covered {
			return got
		}
		select {
		case c := <-changes:
			if c.Full && !want.Full {
				t.Fatalf("unexpected full change %+v, want %+v", c, want)
			}
			var ours []string
			for _, p := range c.Paths {
				if !allowed[p] {
					t.Fatalf("change %+v names %s, want only %v", c, p, want.Paths)
				}
				if slices.Contains(want.Paths, p) {
					ours = append(ours, p)
				}
			}
			got = mergeChanges(got, Change{Paths: ours, Full: c.Full})
		case <-deadline:
			t.Fatalf("changes so far %+v, still waiting for %+v after %s", got, want, waitTimeout)
		}
	}
}

// expectOnly is expectNone after collect: for a short window, a change may
// only name the paths just collected again (see collect), never others.
func expectOnly(t *testing.T, changes <-chan Change, want Change) {
	t.Helper()
	window := time.After(quietWindow)
	for {
		select {
		case c := <-changes:
			for _, p := range c.Paths {
				if !slices.Contains(want.Paths, p) {
					t.Errorf("unexpected change %+v", c)
				}
			}
			if c.Full && !want.Full {
				t.Errorf("unexpected full change %+v", c)
			}
		case <-window:
			return
		}
	}
}

func expectNone(t *testing.T, changes <-chan Change) {
	t.Helper()
	select {
	case c := <-changes:
		t.Errorf("unexpected change %+v", c)
	case <-time.After(quietWindow):
	}
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatchReportsContentChanges(t *testing.T) {
	tests := []struct {
		name  string
		setup map[string]string // files before the watch starts
		act   func(t *testing.T, dir string)
		want  Change
	}{
		{
			name:  "plain write",
			setup: map[string]string{"a.yaml": "v1"},
			act:   func(t *testing.T, dir string) { write(t, dir, "a.yaml", "v2") },
			want:  Change{Paths: []string{"a.yaml"}},
		},
		{
			name:  "rename over the target on save",
			setup: map[string]string{"a.yaml": "v1", "b.yaml": "same"},
			act: func(t *testing.T, dir string) {
				write(t, dir, "a.yaml.tmp123", "v2")
				must(t, os.Rename(filepath.Join(dir, "a.yaml.tmp123"), filepath.Join(dir, "a.yaml")))
			},
			want: Change{Paths: []string{"a.yaml"}},
		},
		{
			name:  "vim save with probe, backup and swap files",
			setup: map[string]string{"sub/a.yaml": "v1"},
			act: func(t *testing.T, dir string) {
				write(t, dir, "sub/.a.yaml.swp", "swap")
				write(t, dir, "sub/4913", "")
				must(t, os.Remove(filepath.Join(dir, "sub/4913")))
				must(t, os.Rename(filepath.Join(dir, "sub/a.yaml"), filepath.Join(dir, "sub/a.yaml~")))
				write(t, dir, "sub/a.yaml", "v2")
				must(t, os.Remove(filepath.Join(dir, "sub/a.yaml~")))
			},
			want: Change{Paths: []string{"sub/a.yaml"}},
		},
		{
			name:  "delete",
			setup: map[string]string{"a.yaml": "v1", "b.yaml": "v1"},
			act:   func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "b.yaml"))) },
			want:  Change{Paths: []string{"b.yaml"}},
		},
		{
			name:  "jsonc include next to a manifest",
			setup: map[string]string{"a.yaml": "v1", "sections/api.jsonc": "{}"},
			act:   func(t *testing.T, dir string) { write(t, dir, "sections/api.jsonc", `{"url": 1,}`) },
			want:  Change{Paths: []string{"sections/api.jsonc"}},
		},
		{
			name:  "new subdirectories with a file",
			setup: map[string]string{"a.yaml": "v1"},
			act:   func(t *testing.T, dir string) { write(t, dir, "team/crm/new.yaml", "v1") },
			want:  Change{Paths: []string{"team/crm/new.yaml"}},
		},
		{
			name:  "directory renamed",
			setup: map[string]string{"old/a.yaml": "v1", "old/deep/b.yaml": "v1"},
			act: func(t *testing.T, dir string) {
				must(t, os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "new")))
			},
			want: Change{Paths: []string{"new/a.yaml", "new/deep/b.yaml", "old/a.yaml", "old/deep/b.yaml"}, Full: true},
		},
		{
			name:  "directory removed",
			setup: map[string]string{"a.yaml": "v1", "gone/b.yaml": "v1"},
			act:   func(t *testing.T, dir string) { must(t, os.RemoveAll(filepath.Join(dir, "gone"))) },
			want:  Change{Paths: []string{"gone/b.yaml"}, Full: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for rel, content := range tt.setup {
				write(t, dir, rel, content)
			}
			changes := startWatcher(t, dir, Options{})
			tt.act(t, dir)
			if diff := cmp.Diff(tt.want, collect(t, changes, tt.want)); diff != "" {
				t.Errorf("change (-want +got):\n%s", diff)
			}
			expectOnly(t, changes, tt.want)
		})
	}
}

func TestWatchIgnoresNoOps(t *testing.T) {
	tests := []struct {
		name string
		act  func(t *testing.T, dir string)
	}{
		{name: "touch", act: func(t *testing.T, dir string) {
			now := time.Now()
			must(t, os.Chtimes(filepath.Join(dir, "a.yaml"), now, now))
		}},
		{name: "chmod", act: func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "a.yaml"), 0o600))
		}},
		{name: "rewrite with the same content", act: func(t *testing.T, dir string) {
			write(t, dir, "a.yaml", "v1")
		}},
		{name: "save by rename with the same content", act: func(t *testing.T, dir string) {
			write(t, dir, "a.yaml.tmp", "v1")
			must(t, os.Rename(filepath.Join(dir, "a.yaml.tmp"), filepath.Join(dir, "a.yaml")))
		}},
		{name: "hidden files and directories", act: func(t *testing.T, dir string) {
			write(t, dir, ".git/objects/ab/cdef", "blob")
			write(t, dir, ".syncd/state.yaml", "x")
			write(t, dir, ".hidden.yaml", "x")
			write(t, dir, "sub/.#a.yaml", "lock")
		}},
		{name: "editor temporaries", act: func(t *testing.T, dir string) {
			write(t, dir, "a.yaml~", "backup")
			write(t, dir, "a.yaml.swp", "swap")
			write(t, dir, "4913", "")
		}},
		{name: "empty new directory", act: func(t *testing.T, dir string) {
			must(t, os.MkdirAll(filepath.Join(dir, "empty/deeper"), 0o755))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, dir, "a.yaml", "v1")
			must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
			changes := startWatcher(t, dir, Options{})
			tt.act(t, dir)
			expectNone(t, changes)
		})
	}
}

// TestWatchFollowsDirectoryRename checks that later edits inside a renamed
// directory, including its subdirectories, are reported under the new name.
func TestWatchFollowsDirectoryRename(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "old/a.yaml", "v1")
	write(t, dir, "old/deep/b.yaml", "v1")
	changes := startWatcher(t, dir, Options{})

	must(t, os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "new")))
	if c := next(t, changes); !c.Full {
		t.Fatalf("rename gave %+v, want a Full change", c)
	}
	tests := []struct {
		rel  string
		want Change
	}{
		{rel: "new/a.yaml", want: Change{Paths: []string{"new/a.yaml"}}},
		{rel: "new/deep/b.yaml", want: Change{Paths: []string{"new/deep/b.yaml"}}},
		{rel: "new/deep/c.yaml", want: Change{Paths: []string{"new/deep/c.yaml"}}},
	}
	for _, tt := range tests {
		write(t, dir, tt.rel, "v2")
		if diff := cmp.Diff(tt.want, next(t, changes)); diff != "" {
			t.Errorf("edit of %s (-want +got):\n%s", tt.rel, diff)
		}
	}
}

// TestWatchNewDirectoryStaysWatched: files written into a directory created
// after the watch started are seen, the first ones and the later ones.
func TestWatchNewDirectoryStaysWatched(t *testing.T) {
	dir := t.TempDir()
	changes := startWatcher(t, dir, Options{})

	write(t, dir, "a/b/c/one.yaml", "1")
	write(t, dir, "a/b/two.yaml", "2")
	first := Change{Paths: []string{"a/b/c/one.yaml", "a/b/two.yaml"}}
	if diff := cmp.Diff(first, collect(t, changes, first)); diff != "" {
		t.Errorf("first change (-want +got):\n%s", diff)
	}
	write(t, dir, "a/b/c/three.yaml", "3")
	want := Change{Paths: []string{"a/b/c/three.yaml"}}
	if diff := cmp.Diff(want, collect(t, changes, want, first.Paths...)); diff != "" {
		t.Errorf("later change (-want +got):\n%s", diff)
	}
}

// A file created in a new directory after addTree listed it but before the
// directory's watch existed has no event of its own: addTree must list the
// directory again once it is watched.
func TestAddTreeFindsFilesCreatedBeforeTheWatch(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write(t, dir, "new/deep/early.yaml", "1")
	created := false
	w.afterWalk = func() {
		if !created {
			created = true
			write(t, dir, "new/deep/late.yaml", "2")
			write(t, dir, "new/deeper/late.yaml", "3")
		}
	}
	var got []string
	for _, h := range w.addTree("new") {
		got = append(got, h.path)
	}
	slices.Sort(got)
	want := []string{"new/deep/early.yaml", "new/deep/late.yaml", "new/deeper/late.yaml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addTree hints (-want +got):\n%s", diff)
	}
	for _, d := range []string{"new", "new/deep", "new/deeper"} {
		if !w.dirs[d] {
			t.Errorf("%s is not watched", d)
		}
	}
}

// TestWatchConfigMapSwap reproduces how the kubelet updates a ConfigMap
// volume: new timestamped directory, ..data_tmp symlink renamed over ..data;
// the visible files are symlinks through ..data and get no event at all.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "..2026_01_01/cm.yaml", "v1")
	write(t, dir, "..2026_01_01/same.yaml", "same")
	must(t, os.Symlink("..2026_01_01", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/cm.yaml", filepath.Join(dir, "cm.yaml")))
	must(t, os.Symlink("..data/same.yaml", filepath.Join(dir, "same.yaml")))
	changes := startWatcher(t, dir, Options{})

	write(t, dir, "..2026_01_02/cm.yaml", "v2")
	write(t, dir, "..2026_01_02/same.yaml", "same")
	must(t, os.Symlink("..2026_01_02", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(filepath.Join(dir, "..2026_01_01")))

	want := Change{Paths: []string{"cm.yaml"}, Full: true}
	if diff := cmp.Diff(want, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
}

// TestWatchSlowReceiver: changes made while nobody reads arrive as one
// merged Change.
func TestWatchSlowReceiver(t *testing.T) {
	dir := t.TempDir()
	changes := startWatcher(t, dir, Options{})
	for i := range 5 {
		write(t, dir, fmt.Sprintf("f%d.yaml", i), "v1")
		time.Sleep(3 * testQuiet) // separate bursts, each settled on its own
	}
	// The last burst may still be settling: keep reading until all five
	// files were named, and count the Changes it took.
	var got []string
	n := 0
	for len(got) < 5 {
		c := next(t, changes)
		got = append(got, c.Paths...)
		n++
	}
	if n > 2 {
		t.Errorf("took %d changes to report 5 files written while nobody read; want them merged", n)
	}
}

func TestWatchResyncFindsMissedChange(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "v1")
	w, err := New(dir, Options{Quiet: testQuiet, Resync: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Change the file while the watch is closed: no event can report it.
	must(t, w.fsw.Remove(dir))
	write(t, dir, "a.yaml", "v2")
	must(t, w.fsw.Add(dir))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan Change)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, changes) }()
	want := Change{Paths: []string{"a.yaml"}, Full: true}
	if diff := cmp.Diff(want, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "file.yaml", "x")
	tests := []struct {
		name string
		dir  string
	}{
		{name: "missing", dir: filepath.Join(dir, "nope")},
		{name: "not a directory", dir: filepath.Join(dir, "file.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, err := New(tt.dir, Options{}); err == nil {
				w.Close()
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	w, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, make(chan Change)) }()
	for !w.running.Load() {
		time.Sleep(time.Millisecond)
	}
	if err := w.Run(ctx, make(chan Change)); err == nil {
		t.Error("second Run succeeded, want an error")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// gitRepo makes a git repository in dir with a fixed identity and no
// dependence on the user's git configuration.
func gitRepo(t *testing.T, dir string) func(args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is required: %v", err)
	}
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("init", "-q", "-b", "a")
	return run
}

// TestWatchGitCheckout: switching to a branch that rewrites 100 manifests
// is one Change naming all 100.
func TestWatchGitCheckout(t *testing.T) {
	dir := t.TempDir()
	git := gitRepo(t, dir)
	var want Change
	for i := range 100 {
		rel := fmt.Sprintf("team%d/m%03d.yaml", i%4, i)
		want.Paths = append(want.Paths, rel)
		write(t, dir, rel, fmt.Sprintf("kind: MakeConnection\nmetadata: {name: m%03d}\n", i))
	}
	git("add", ".")
	git("commit", "-q", "-m", "a")
	git("checkout", "-q", "-b", "b")
	for i, rel := range want.Paths {
		write(t, dir, rel, fmt.Sprintf("kind: MakeConnection\nmetadata: {name: m%03d, labels: {b: x}}\n", i))
	}
	git("commit", "-q", "-am", "b")
	git("checkout", "-q", "a")
	slices.Sort(want.Paths)

	// A longer quiet period than the other tests: a loaded machine may pause
	// git for more than 50 ms mid-checkout, and that would be two bursts.
	changes := startWatcher(t, dir, Options{Quiet: 250 * time.Millisecond, MaxDelay: 10 * time.Second})
	git("checkout", "-q", "b")
	if diff := cmp.Diff(want, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	expectNone(t, changes)
}

// TestWatchOverflowIsFull: when the kernel queue overflows, nothing can say
// which files changed, so the rescan is reported as Full even if it finds
// no difference.
func TestWatchOverflowIsFull(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "v1")
	w, err := New(dir, Options{Quiet: testQuiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan Change)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, changes) }()

	w.fsw.Errors <- fsnotify.ErrEventOverflow
	if diff := cmp.Diff(Change{Full: true}, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestWatchSymlinkedRoot: the manifests directory itself may be a symlink.
func TestWatchSymlinkedRoot(t *testing.T) {
	base := t.TempDir()
	write(t, base, "real/a.yaml", "v1")
	link := filepath.Join(base, "link")
	must(t, os.Symlink("real", link))
	changes := startWatcher(t, link, Options{})

	write(t, base, "real/a.yaml", "v2")
	if diff := cmp.Diff(Change{Paths: []string{"a.yaml"}}, next(t, changes)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
}
