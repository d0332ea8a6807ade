package watch

import (
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// sum is a file's content hash. The zero sum stands for a file that exists
// but could not be read: it differs from every real hash, so the file is
// reported and the loader gets to say what is wrong with it.
type sum [sha256.Size]byte

// configMapData is the symlink a Kubernetes ConfigMap volume swaps
// atomically; its events never name the files that changed.
const configMapData = "..data"

// hidden reports whether any element of the slash-separated relative path
// starts with a dot: git's object store, .syncd, editor lock files and
// ConfigMap's timestamped directories all live there, and the manifest
// loader skips them too.
func hidden(rel string) bool {
	for part := range strings.SplitSeq(rel, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

// editorTemp reports whether base is a file an editor writes while saving
// (vim's swap files and its 4913 write probe, backups ending in ~).
func editorTemp(base string) bool {
	switch {
	case base == "4913",
		strings.HasSuffix(base, "~"),
		strings.HasSuffix(base, ".swp"),
		strings.HasSuffix(base, ".swo"),
		strings.HasSuffix(base, ".swx"),
		strings.HasPrefix(base, ".#"):
		return true
	}
	return false
}

// relevant reports whether a file at rel can be part of the desired state.
func relevant(rel string) bool {
	return rel != "." && !hidden(rel) && !editorTemp(filepath.Base(rel))
}

// hashFile hashes the regular file at rel inside root. It follows a
// symlink only while it stays inside (ConfigMap volumes present every file
// as one), and opens nothing that is not a regular file: a fifo would block
// the watch, a device could be endless. Such a file, or a link leading
// outside, has the zero sum: it is reported when it appears, and the loader
// names what is wrong with it without reading it either. ok is false when
// there is no file there (or a directory).
func hashFile(root *os.Root, rel string) (s sum, ok bool) {
	name := filepath.FromSlash(rel)
	info, err := root.Stat(name)
	if err != nil {
		return sum{}, !errors.Is(err, fs.ErrNotExist)
	}
	if info.IsDir() {
		return sum{}, false
	}
	if !info.Mode().IsRegular() {
		return sum{}, true
	}
	// Non-blocking, and checked again on the descriptor: the file may have
	// been swapped for a fifo since the Stat.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return sum{}, !errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return sum{}, true
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum{}, true
	}
	copy(s[:], h.Sum(nil))
	return s, true
}

// walkTree lists the non-hidden directories under root (root itself as ".")
// and the relevant files, as slash-separated paths relative to root. It does
// not follow symlinked directories (they could loop); symlinked files are
// files. Errors below root are skipped: a directory that vanished mid-walk
// is reported by its own events.
func walkTree(root, sub string) (dirs, files []string, err error) {
	start := filepath.Join(root, filepath.FromSlash(sub))
	err = filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == start {
				return err
			}
			return nil
		}
		rel, rerr := filepath.Rel(root, path)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && hidden(rel) {
				return filepath.SkipDir
			}
			dirs = append(dirs, rel)
			return nil
		}
		if relevant(rel) {
			files = append(files, rel)
		}
		return nil
	})
	return dirs, files, err
}

// hashTree hashes every relevant regular file under root.
func hashTree(root string) (map[string]sum, error) {
	_, files, err := walkTree(root, ".")
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sums := make(map[string]sum, len(files))
	for _, rel := range files {
		if s, ok := hashFile(r, rel); ok {
			sums[rel] = s
		}
	}
	return sums, nil
}

// diffSums lists the paths that appeared, disappeared or changed content
// between old and cur, sorted; nil when nothing did.
func diffSums(old, cur map[string]sum) []string {
	var changed []string
	for p, s := range cur {
		if o, ok := old[p]; !ok || o != s {
			changed = append(changed, p)
		}
	}
	for p := range old {
		if _, ok := cur[p]; !ok {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	return changed
}
