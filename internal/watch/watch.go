package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for Options. Resync has no implicit default: zero turns it off,
// so a caller that wants the periodic resync passes DefaultResync.
const (
	DefaultQuiet    = 100 * time.Millisecond
	DefaultMaxDelay = 2 * time.Second
	DefaultResync   = 5 * time.Minute
)

// Options tune a Watcher. The zero value is usable (no periodic resync).
type Options struct {
	// Quiet is how long the directory must stay still before a burst of
	// events is reported. Zero means DefaultQuiet.
	Quiet time.Duration
	// MaxDelay caps the wait from the first event of a burst, so that a
	// directory that never goes quiet is still reported. Zero means
	// DefaultMaxDelay.
	MaxDelay time.Duration
	// Resync is the interval of a periodic full rehash, which catches events
	// the kernel never delivered; it reports only when something differs.
	// Zero turns it off.
	Resync time.Duration
	// Logger receives warnings (overflow, unreadable directories) and debug
	// lines per settled burst. Nil discards them.
	Logger *slog.Logger
}

// Change is one settled burst of changes under the watched directory.
type Change struct {
	// Paths are the files whose content changed, appeared or disappeared,
	// relative to the watched directory with forward slashes, sorted and
	// unique. Hidden files and editor temporaries are never listed.
	Paths []string
	// Full means the events did not say reliably which files changed (queue
	// overflow, a directory renamed or removed, a ConfigMap ..data swap, a
	// periodic resync that found a difference): reload the whole directory.
	// Paths still lists every difference the rehash found, possibly none.
	Full bool
}

// Watcher watches one directory tree. Create it with New, then call Run once.
type Watcher struct {
	root   string
	timing timing
	log    *slog.Logger
	fsw    *fsnotify.Watcher

	// mu serialises changes to the watch set, which both the event reader
	// (new directories) and a full settle (rebuild) make.
	mu   sync.Mutex
	dirs map[string]bool

	// sums is the content hash of every relevant file as last reported; only
	// New and then Run's settle touch it.
	sums map[string]sum

	// afterWalk, when set (tests only), runs after each listing addTree
	// makes, before it adds the watches.
	afterWalk func()

	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New starts watching dir and every non-hidden directory below it, and
// hashes every file so that later events are compared with today's content.
// Call New before loading the manifests: a change made between the load and
// New would otherwise be part of the baseline and never reported.
func New(dir string, opts Options) (*Watcher, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("watch: %s: %w", dir, err)
	}
	// A symlinked root (a mounted volume, /etc/... -> elsewhere) would be
	// walked as a single file, and its events would name the target.
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("watch: %s is not a directory", dir)
	}
	t := timing{quiet: opts.Quiet, maxDelay: opts.MaxDelay, resync: opts.Resync}
	if t.quiet <= 0 {
		t.quiet = DefaultQuiet
	}
	if t.maxDelay <= 0 {
		t.maxDelay = DefaultMaxDelay
	}
	if t.resync < 0 {
		t.resync = 0
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{root: root, timing: t, log: log.With("component", "watch"), fsw: fsw}
	if err := w.rebuild(); err != nil {
		fsw.Close()
		return nil, err
	}
	if w.sums, err = hashTree(root); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("watch: hash %s: %w", dir, err)
	}
	return w, nil
}

// Close stops watching. Run calls it on return; call it yourself only when
// Run is never called.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.fsw.Close() })
	return w.closeErr
}

// Run reports settled changes on changes until ctx is done, then closes the
// Watcher and returns nil; it never closes changes. While the receiver is
// busy, further changes merge into one pending Change, so the sender never
// blocks the watch and the receiver never sees a backlog. Run returns an
// error only when the kernel watch itself fails.
func (w *Watcher) Run(ctx context.Context, changes chan<- Change) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("watch: Run called twice")
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	hints := make(chan hint, 256)
	readErr := make(chan error, 1)
	go func() {
		readErr <- w.read(ctx, hints)
		cancel()
	}()
	debounce(ctx, w.timing, hints, w.settle, changes)
	cancel()
	return <-readErr
}

// read turns fsnotify events into hints until ctx is done.
func (w *Watcher) read(ctx context.Context, hints chan<- hint) error {
	for {
		var hs []hint
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return errors.New("watch: fsnotify event channel closed")
			}
			hs = w.classify(ev)
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return errors.New("watch: fsnotify error channel closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("event queue overflowed; rescanning the whole directory")
			} else {
				w.log.Warn("watch error; rescanning the whole directory", "err", err)
			}
			hs = []hint{{full: true}}
		}
		for _, h := range hs {
			select {
			case hints <- h:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// classify decides what an event means for the manifests.
func (w *Watcher) classify(ev fsnotify.Event) []hint {
	if !ev.Has(fsnotify.Create | fsnotify.Write | fsnotify.Remove | fsnotify.Rename) {
		return nil // chmod only: content is unchanged
	}
	rel, err := filepath.Rel(w.root, ev.Name)
	if err != nil {
		return []hint{{full: true}}
	}
	rel = filepath.ToSlash(rel)
	switch {
	case rel == ".":
		if ev.Has(fsnotify.Remove | fsnotify.Rename) {
			w.log.Error("the watched directory was removed or renamed", "dir", w.root)
			return []hint{{full: true}}
		}
		return nil
	case rel == configMapData:
		// The swap replaces every file at once without naming any of them.
		return []hint{{full: true}}
	case !relevant(rel):
		return nil
	}
	if ev.Has(fsnotify.Create) {
		if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
			return w.addTree(rel)
		}
	}
	if ev.Has(fsnotify.Remove|fsnotify.Rename) && w.isDir(rel) {
		// Watches below a moved directory keep their old paths, and a
		// removed one takes its files with it without an event per file.
		return []hint{{full: true}}
	}
	return []hint{{path: rel}}
}

func (w *Watcher) isDir(rel string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirs[rel]
}

// addTree watches a new directory and everything below it, and reports the
// files already there: they may have been written before the watch existed.
// The listing that is reported is made after every directory in it is
// watched: a file created before its directory's watch is in the listing,
// one created after has its own event. A directory that appeared during a
// pass is watched, and listed, by the next.
func (w *Watcher) addTree(rel string) []hint {
	w.mu.Lock()
	defer w.mu.Unlock()
	watched := map[string]bool{}
	for {
		dirs, files, err := walkTree(w.root, rel)
		if w.afterWalk != nil {
			w.afterWalk()
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone again; its removal has its own event
			}
			w.log.Warn("cannot read new directory; rescanning", "dir", rel, "err", err)
			return []hint{{full: true}}
		}
		added := false
		for _, d := range dirs {
			if watched[d] {
				continue
			}
			watched[d], added = true, true
			if err := w.fsw.Add(filepath.Join(w.root, filepath.FromSlash(d))); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				w.log.Warn("cannot watch new directory; rescanning", "dir", d, "err", err)
				return []hint{{full: true}}
			}
			w.dirs[d] = true
		}
		if added {
			continue
		}
		hs := make([]hint, len(files))
		for i, f := range files {
			hs[i] = hint{path: f}
		}
		return hs
	}
}

// rebuild replaces the whole watch set with the directories that exist now.
// Merely adding the new paths is not enough after a rename: fsnotify keeps
// an inode's first path, so the old watches must go before the new ones are
// added, or their events would keep naming the old directory.
func (w *Watcher) rebuild() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	dirs, _, err := walkTree(w.root, ".")
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	for _, p := range w.fsw.WatchList() {
		if p != w.root {
			// A watch the kernel already dropped answers an error here;
			// either way it is gone.
			_ = w.fsw.Remove(p)
		}
	}
	w.dirs = make(map[string]bool, len(dirs))
	for _, d := range dirs {
		if err := w.fsw.Add(filepath.Join(w.root, filepath.FromSlash(d))); err != nil {
			if d == "." {
				return fmt.Errorf("watch: %w", err)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				w.log.Warn("cannot watch directory", "dir", d, "err", err)
			}
			continue
		}
		w.dirs[d] = true
	}
	return nil
}

// settle rehashes what a burst touched and reports what really changed.
func (w *Watcher) settle(b burst) (Change, bool) {
	if b.full || b.resync {
		if err := w.rebuild(); err != nil {
			w.log.Error("cannot rebuild the watch set", "err", err)
		}
		cur, err := hashTree(w.root)
		if err != nil {
			w.log.Error("cannot rescan the watched directory", "err", err)
			return Change{Full: true}, true
		}
		changed := diffSums(w.sums, cur)
		w.sums = cur
		if !b.full && len(changed) == 0 {
			return Change{}, false
		}
		if b.resync && len(changed) > 0 {
			w.log.Warn("periodic resync found changes no event reported", "files", len(changed))
		}
		w.log.Debug("change settled", "files", len(changed), "full", true)
		return Change{Paths: changed, Full: true}, true
	}
	root, err := os.OpenRoot(w.root)
	if err != nil {
		w.log.Error("cannot open the watched directory", "err", err)
		return Change{Full: true}, true
	}
	defer root.Close()
	var changed []string
	for p := range b.paths {
		s, ok := hashFile(root, p)
		old, had := w.sums[p]
		switch {
		case ok && (!had || old != s):
			w.sums[p] = s
			changed = append(changed, p)
		case !ok && had:
			delete(w.sums, p)
			changed = append(changed, p)
		}
	}
	if len(changed) == 0 {
		return Change{}, false
	}
	slices.Sort(changed)
	w.log.Debug("change settled", "files", len(changed), "full", false)
	return Change{Paths: changed}, true
}
