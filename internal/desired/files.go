package desired

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Limits bound what one Load reads, so that a hostile manifest directory
// (a huge file, a symlink to /dev/zero) costs no more than a normal one.
// A zero field takes its default.
type Limits struct {
	ManifestBytes int64 // one manifest file
	FileBytes     int64 // one $file section include
	SecretBytes   int64 // one ${file:} secret
	TotalBytes    int64 // everything one Load reads
}

// Defaults for Limits.
const (
	DefaultMaxManifestBytes = 1 << 20
	DefaultMaxFileBytes     = 4 << 20
	DefaultMaxSecretBytes   = 64 << 10
	DefaultMaxTotalBytes    = 256 << 20
)

func (lim Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&lim.ManifestBytes, DefaultMaxManifestBytes)
	def(&lim.FileBytes, DefaultMaxFileBytes)
	def(&lim.SecretBytes, DefaultMaxSecretBytes)
	def(&lim.TotalBytes, DefaultMaxTotalBytes)
	return lim
}

// DefaultSecretDirs are the directories ${file:} may always read from,
// besides the manifests directory: where Docker and Kubernetes mount secrets.
var DefaultSecretDirs = []string{"/run/secrets", "/var/run/secrets"}

// area is a directory files may be read from: the manifests directory, or
// one of the secret directories. Every read goes through an os.Root, so no
// path, however it was spelled or linked, reaches outside it.
type area struct {
	shown string   // as configured, for display paths
	abs   string   // absolute and clean, for matching absolute references
	real  string   // abs with its symlinks resolved
	root  *os.Root // nil until opened; openErr says why it could not be
	err   error
	// dirs caches roots opened (through root) on the directories files are
	// read from, so that opening a file there is one openat, not a walk
	// from the top of the area per file. A nil entry: could not be opened.
	dirs map[string]*os.Root
}

func newArea(dir string) *area {
	a := &area{shown: dir}
	abs, err := filepath.Abs(dir)
	if err != nil {
		a.err = err
		return a
	}
	a.abs = abs
	if a.real, err = filepath.EvalSymlinks(abs); err != nil {
		a.err = err
		return a
	}
	a.root, a.err = os.OpenRoot(a.real)
	return a
}

func (a *area) close() {
	for _, r := range a.dirs {
		if r != nil {
			r.Close()
		}
	}
	a.dirs = nil
	if a.root != nil {
		a.root.Close()
	}
}

// open opens name (slash-separated, relative to the area) for reading
// without blocking. A file in a subdirectory is opened through a root on
// that directory, itself opened through the area's root: still confined to
// the area, and cheaper per file. When that fails for any reason (a link
// leading out of the subdirectory but not out of the area, say) the area's
// root decides, as it would have alone.
func (a *area) open(name string) (*os.File, error) {
	const flags = os.O_RDONLY | syscall.O_NONBLOCK
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return a.root.OpenFile(name, flags, 0)
	}
	dir, base := name[:i], name[i+1:]
	sub, ok := a.dirs[dir]
	if !ok {
		sub, _ = a.root.OpenRoot(dir)
		if a.dirs == nil {
			a.dirs = map[string]*os.Root{}
		}
		a.dirs[dir] = sub
	}
	if sub != nil {
		if f, err := sub.OpenFile(base, flags, 0); err == nil {
			return f, nil
		}
	}
	return a.root.OpenFile(name, flags, 0)
}

// relOf returns p (absolute, or relative to the working directory) relative
// to the area, and false when it lies outside it lexically.
func (a *area) relOf(p string) (string, bool) {
	if a.abs == "" {
		return "", false
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	for _, base := range []string{a.abs, a.real} {
		if base == "" {
			continue
		}
		if rel, err := filepath.Rel(base, abs); err == nil && local(rel) {
			return rel, true
		}
	}
	return "", false
}

// local reports whether a clean relative path stays below its base.
func local(rel string) bool {
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// display is the path errors and Files show for rel.
func (a *area) display(rel string) string {
	return filepath.ToSlash(filepath.Join(a.shown, rel))
}

// Problems found while reading a file. Their texts never include content.
var (
	errEscapes = errors.New("leads outside its directory through a symbolic link; not read")
	errTotal   = errors.New("total size limit reached")
)

// tooLarge is a file over its limit.
type tooLarge struct {
	limit int64
	knob  string
}

func (e *tooLarge) Error() string {
	return fmt.Sprintf("is larger than %d bytes (the limit set by %s); not read", e.limit, e.knob)
}

// notRegular is a fifo, device, socket or directory where a file was expected.
type notRegular struct{ mode fs.FileMode }

func (e *notRegular) Error() string {
	return "is " + describeMode(e.mode) + ", not a regular file; not opened"
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (fifo)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}

// escapes reports whether rel, with every symlink resolved, leaves the area.
// A path that does not resolve (missing) does not escape: reading it then
// fails with its own error.
func (a *area) escapes(rel string) bool {
	real, err := filepath.EvalSymlinks(filepath.Join(a.real, rel))
	if err != nil {
		return false
	}
	r, err := filepath.Rel(a.real, real)
	return err != nil || !local(r)
}

// read reads rel inside the area: a symlink leaving it, a non-regular file
// and a file over limit (or over the load's remaining budget) are refused.
// Non-regular files are refused on their metadata, before any open (seen
// says the caller already found a regular file there: the walk did); the
// open is non-blocking and re-checked on the descriptor, so a file swapped
// for a fifo in between cannot hang the load either. The os.Root refuses
// any path that leads outside; escapes only words the error.
func (a *area) read(rel string, limit int64, knob string, budget *int64, seen bool) ([]byte, error) {
	if a.root == nil {
		return nil, a.err
	}
	name := filepath.ToSlash(rel)
	fail := func(err error) ([]byte, error) {
		if !errors.Is(err, fs.ErrNotExist) && a.escapes(rel) {
			return nil, errEscapes
		}
		return nil, err
	}
	if !seen {
		st, err := a.root.Stat(name)
		if err != nil {
			return fail(err)
		}
		if !st.Mode().IsRegular() {
			return nil, &notRegular{st.Mode()}
		}
	}
	f, err := a.open(name)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &notRegular{st.Mode()}
	}
	if st.Size() > limit {
		return nil, &tooLarge{limit, knob}
	}
	if st.Size() > *budget {
		return nil, errTotal
	}
	// The size can grow while we read (or lie: /proc); read at most one byte
	// more than allowed, so that no input grows memory past the limit.
	max := min(limit, *budget)
	data, err := readUpTo(f, st.Size(), max+1)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		if max == limit {
			return nil, &tooLarge{limit, knob}
		}
		return nil, errTotal
	}
	*budget -= int64(len(data))
	return data, nil
}

// readUpTo reads r to its end or to limit bytes, whichever comes first, into
// one buffer sized for the expected length plus the byte that shows the
// file grew: two reads for a file whose size held, where io.ReadAll would
// grow its buffer from 512 bytes.
func readUpTo(r io.Reader, expected, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit, max(expected, 0)+1))
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow: the file is longer than it said
		}
		end := min(int64(cap(buf)), limit)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}
