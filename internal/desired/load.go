package desired

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Options tune Load.
type Options struct {
	// Getenv resolves ${env:NAME}; nil means os.LookupEnv. Tests pass their
	// own so that they never touch the process environment.
	Getenv func(string) (string, bool)
	// SecretDirs are the directories ${file:} references may read from
	// besides the manifests directory and DefaultSecretDirs.
	SecretDirs []string
	// Limits bound every read; zero fields take the defaults.
	Limits Limits
	// KeepForReload keeps what Reload needs in the Set (a daemon's).
	KeepForReload bool
	// Platforms are the kinds a manifest may have, each with its manifest
	// format; nil means the registry's (registry.All). Tests pass a
	// platform of their own.
	Platforms []platform.Platform
}

// File is one file Load read: a manifest, a $file include or a ${file:}
// secret. Digest is "sha256:<hex>" of its content.
type File struct {
	Path   string
	Digest string
}

// Set is the result of one Load.
type Set struct {
	// Resources that loaded cleanly, sorted by Key. When Errors is not empty
	// this is a partial set: good enough to report drift, never to delete.
	Resources []*syncd.Desired
	// Files read, sorted by Path.
	Files []File
	// Digest changes whenever any file in Files changes, is added or removed.
	// It is computed over paths relative to the loaded directory, so the
	// same tree gives the same digest wherever it is checked out.
	Digest string
	// Errors lists every problem found; Load also returns it as its error.
	Errors Errors

	keep *reloadState // with Options.KeepForReload (reload.go)
}

// Get returns the resource with key k, or nil.
func (s *Set) Get(k syncd.Key) *syncd.Desired {
	i, ok := slices.BinarySearchFunc(s.Resources, k, func(d *syncd.Desired, k syncd.Key) int { return d.Key.Compare(k) })
	if !ok {
		return nil
	}
	return s.Resources[i]
}

// Load reads every manifest under dir. The returned error, when not nil, is
// the Set's Errors; the Set is returned in every case and holds the
// resources whose documents had no problem.
func Load(dir string, opts Options) (*Set, error) {
	l := &loader{
		root:   dir,
		getenv: opts.Getenv,
		limits: opts.Limits.withDefaults(),
		files:  map[string]File{},
		rel:    map[string]string{},
	}
	l.platforms = opts.Platforms
	l.budget = l.limits.TotalBytes
	if l.getenv == nil {
		l.getenv = os.LookupEnv
	}
	l.secretDirs = append(append([]string(nil), DefaultSecretDirs...), opts.SecretDirs...)
	if opts.KeepForReload {
		l.keep = newReloadState(dir, l.getenv, l.limits, l.secretDirs)
		l.keep.platforms = opts.Platforms
	}
	l.walk()
	l.closeAreas()
	set, err := l.finish()
	if l.keep != nil {
		set.keep = l.kept()
	}
	return set, err
}

// loader is the state of one Load.
type loader struct {
	root          string
	getenv        func(string) (string, bool)
	limits        Limits
	budget        int64 // bytes left of limits.TotalBytes
	overBudget    bool  // the total limit was reached
	reportedTotal bool  // and reported
	manifests     *area // the manifests directory
	secretDirs    []string
	secrets       map[string]*area // opened secret directories, by configured path
	errs          Errors
	files         map[string]File   // by display path
	rel           map[string]string // display path -> path relative to root, for the digest
	docs          []*docResult
	// keep and current record, per manifest, what Reload needs.
	keep    *reloadState
	current string
	// platforms are Options.Platforms (nil: the registry's).
	platforms []platform.Platform
	// shared holds one boxed copy of each short string the manifests
	// repeat (keys, and values such as "apikey"), so that the decoded specs
	// of a large estate share them; it ends with the load.
	shared map[string]any
	// quick reads the plain manifests, one file after another with the
	// same buffers: no node of a file may be kept past its document.
	quick quick
}

// Strings longer than maxShared, and strings met after maxSharedEntries
// distinct ones, are not shared: long ones rarely repeat, and the table
// must not grow with an estate of unique values.
const (
	maxShared        = 64
	maxSharedEntries = 1 << 14
)

// share returns the loader's boxed copy of s (never called with a secret).
func (l *loader) share(s string) any {
	if v, ok := l.shared[s]; ok {
		return v
	}
	var v any = s
	if len(s) <= maxShared && len(l.shared) < maxSharedEntries {
		if l.shared == nil {
			l.shared = map[string]any{}
		}
		l.shared[s] = v
	}
	return v
}

// shareKey is share for a mapping key.
func (l *loader) shareKey(s string) string { return l.share(s).(string) }

// docResult is one decoded document, kept with what the cross-document
// checks need to point at.
type docResult struct {
	d       *syncd.Desired
	bad     bool
	nameAt  *docPos
	keyAt   *docPos // the natural key's position (Make label, Patchworks name)
	keySens bool    // the natural key came from a secret reference
	file    string
}

func (l *loader) addError(file string, n *yaml.Node, field, format string, args ...any) {
	l.addErrorAt(file, docPosOf(n), field, format, args...)
}

func (l *loader) addErrorAt(file string, at *docPos, field, format string, args ...any) {
	e := &Error{File: file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if at != nil {
		e.Line, e.Col = at.line, at.col
	}
	l.errs = append(l.errs, e)
}

// docPos is where a document's name or natural key stands, kept for the
// checks across documents instead of the YAML node: a node holds on to far
// more than its line and column, and a large estate keeps two per manifest.
type docPos struct{ line, col int }

func docPosOf(n *yaml.Node) *docPos {
	if n == nil {
		return nil
	}
	return &docPos{n.Line, n.Column}
}

// display turns a filesystem path into the form errors and Sources use.
func display(p string) string { return filepath.ToSlash(p) }

func (l *loader) walk() {
	info, err := os.Stat(l.root)
	if err != nil {
		l.addError(display(l.root), nil, "", "cannot read manifests directory: %s", pathErrText(err))
		return
	}
	if !info.IsDir() {
		l.addError(display(l.root), nil, "", "not a directory")
		return
	}
	l.manifests = newArea(l.root)
	if l.manifests.root == nil {
		l.addError(display(l.root), nil, "", "cannot read manifests directory: %s", pathErrText(l.manifests.err))
		return
	}
	// The walk goes through the os.Root: it cannot be led outside the
	// directory, and it does not descend into symlinked directories.
	err = fs.WalkDir(l.manifests.root.FS(), ".", func(rel string, de fs.DirEntry, err error) error {
		shown := l.manifests.display(filepath.FromSlash(rel))
		if err != nil {
			l.addError(shown, nil, "", "cannot read: %s", pathErrText(err))
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel != "." && strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			return nil
		}
		l.entry(filepath.FromSlash(rel), de)
		return nil
	})
	if err != nil {
		l.addError(display(l.root), nil, "", "cannot walk: %s", pathErrText(err))
	}
}

// entry decides what to do with one directory entry that is not a
// directory, looking only at metadata: nothing is opened here.
func (l *loader) entry(rel string, de fs.DirEntry) {
	shown := l.manifests.display(rel)
	manifest := isManifestName(de.Name())
	switch t := de.Type(); {
	case t&fs.ModeSymlink != 0:
		if l.manifests.escapes(rel) {
			// Named, never read: a manifest (or a directory of them)
			// linked from elsewhere would be read with syncd's rights.
			st, err := os.Stat(filepath.Join(l.manifests.real, rel))
			if manifest || err == nil && st.IsDir() {
				l.addError(shown, nil, "", "is a symbolic link leading outside the manifests directory; not read")
			}
			return
		}
		st, err := l.manifests.root.Stat(filepath.ToSlash(rel))
		switch {
		case err != nil:
			if manifest {
				l.addError(shown, nil, "", "cannot read: %s", pathErrText(err))
			}
		case st.IsDir():
			// A link to a directory inside: its manifests are loaded from
			// where they really are, not a second time through the link.
		case manifest && !st.Mode().IsRegular():
			l.addError(shown, nil, "", "%s", (&notRegular{st.Mode()}).Error())
		case manifest:
			l.manifest(rel)
		}
	case t.IsRegular():
		if manifest {
			l.manifest(rel)
		}
	default:
		if manifest {
			l.addError(shown, nil, "", "%s", (&notRegular{t}).Error())
		}
	}
}

func isManifestName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// pathErrText drops the path from an *fs.PathError, because the error line
// already starts with it.
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// readErrText says why a read failed, naming the total limit's knob.
func (l *loader) readErrText(err error) string {
	return strings.TrimPrefix(l.manifestErrText(err), "cannot read: ")
}

// manifestErrText is readErrText with "cannot read: " before a plain I/O
// error, for a line that has no other words.
func (l *loader) manifestErrText(err error) string {
	var big *tooLarge
	var special *notRegular
	switch {
	case errors.Is(err, errTotal):
		return fmt.Sprintf("not read: the manifests directory holds more than %d bytes (with its $file includes and secrets; the limit set by %s)",
			l.limits.TotalBytes, KnobTotalBytes)
	case errors.Is(err, errEscapes), errors.Is(err, errNotAllowed), errors.As(err, &big), errors.As(err, &special):
		return err.Error()
	}
	return "cannot read: " + pathErrText(err)
}

// The environment variables that set Limits, named in errors.
const (
	KnobManifestBytes = "SYNCD_MAX_MANIFEST_BYTES"
	KnobFileBytes     = "SYNCD_MAX_FILE_BYTES"
	KnobSecretBytes   = "SYNCD_MAX_SECRET_BYTES"
	KnobTotalBytes    = "SYNCD_MAX_TOTAL_BYTES"
	KnobSecretDirs    = "SYNCD_SECRET_DIRS"
)

// readIn reads rel inside area a, records it in Files and reports the
// total limit once. secret files get no content digest: a plain hash of a
// short secret could be brute-forced from a published plan file (a change
// to one still shows in the resources' keyed DesiredHash).
func (l *loader) readIn(a *area, rel string, limit int64, knob string, secret, seen bool) ([]byte, error) {
	if l.overBudget {
		return nil, errTotal
	}
	data, err := a.read(rel, limit, knob, &l.budget, seen)
	if err != nil {
		if errors.Is(err, errTotal) {
			l.overBudget = true
		}
		return nil, err
	}
	shown := a.display(rel)
	l.noteRead(shown, int64(len(data)))
	if _, ok := l.files[shown]; !ok {
		digest := "secret"
		if !secret {
			sum := sha256.Sum256(data)
			digest = "sha256:" + hex.EncodeToString(sum[:])
		}
		l.files[shown] = File{Path: shown, Digest: digest}
		r, rerr := filepath.Rel(l.root, shown)
		if rerr != nil {
			r = shown
		}
		l.rel[shown] = filepath.ToSlash(r)
	}
	return data, nil
}

func (l *loader) closeAreas() {
	if l.manifests != nil {
		l.manifests.close()
	}
	for _, a := range l.secrets {
		a.close()
	}
}

func (l *loader) file(rel string) {
	shown := l.manifests.display(rel)
	data, err := l.readIn(l.manifests, rel, l.limits.ManifestBytes, KnobManifestBytes, false, true)
	if err != nil {
		if errors.Is(err, errTotal) {
			if l.reportedTotal {
				return // one line says it; the rest are not read
			}
			l.reportedTotal = true
		}
		l.addError(shown, nil, "", "%s", l.manifestErrText(err))
		return
	}
	if line, col, ok := invalidUTF8(data); ok {
		l.errs = append(l.errs, &Error{File: shown, Line: line, Col: col, Msg: "invalid UTF-8: manifests must be UTF-8 text"})
		return
	}
	if doc, ok := l.quick.parse(data); ok {
		if r := l.document(shown, filepath.Dir(rel), doc); r != nil {
			l.docs = append(l.docs, r)
		}
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return
		}
		if err != nil {
			l.syntaxError(shown, err)
			return // the parser cannot resynchronise after a syntax error
		}
		if r := l.document(shown, filepath.Dir(rel), &doc); r != nil {
			l.docs = append(l.docs, r)
		}
	}
}

func (l *loader) syntaxError(file string, err error) {
	var le *yaml.LoadError
	if errors.As(err, &le) {
		msg := le.Message
		if le.ContextMsg != "" {
			msg = le.ContextMsg + ": " + msg
		}
		l.errs = append(l.errs, &Error{File: file, Line: le.Mark.Line, Col: le.Mark.Column, Msg: "YAML syntax error: " + msg})
		return
	}
	l.errs = append(l.errs, &Error{File: file, Msg: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")})
}

// finish runs the checks that span documents and assembles the Set.
func (l *loader) finish() (*Set, error) {
	names := make(map[syncd.Key]*docResult, len(l.docs))
	natural := make(map[string]*docResult, len(l.docs))
	for _, r := range l.docs {
		if r.d == nil {
			continue
		}
		if r.nameAt != nil {
			if first, ok := names[r.d.Key]; ok {
				l.addErrorAt(r.file, r.nameAt, "metadata.name", "duplicate %s name %q (first defined at %s:%d)",
					r.d.Key.Kind, r.d.Key.Name, first.file, first.nameAt.line)
				r.bad = true
			} else {
				names[r.d.Key] = r
			}
		}
		if r.keyAt != nil {
			pl, ok := l.platform(r.d.Key.Kind)
			if !ok {
				l.addErrorAt(r.file, r.keyAt, "kind", "no platform registered for kind %s", r.d.Key.Kind)
				r.bad = true
				continue
			}
			nk := string(r.d.Key.Kind) + "\x00" + pl.NaturalKey(r.d.Spec)
			if first, ok := natural[nk]; ok {
				what := pl.NaturalKeyTerm()
				shown := ""
				if !r.keySens && !first.keySens {
					shown = fmt.Sprintf(" %q", pl.NaturalKey(r.d.Spec))
				}
				l.addErrorAt(r.file, r.keyAt, pl.NaturalKeyField(), "duplicate %s %s%s: also used by %s at %s:%d",
					r.d.Key.Kind, what, shown, first.d.Key.Name, first.file, first.keyAt.line)
				r.bad = true
			} else {
				natural[nk] = r
			}
		}
	}

	set := &Set{Resources: make([]*syncd.Desired, 0, len(l.docs)), Files: make([]File, 0, len(l.files))}
	for _, r := range l.docs {
		if r.d != nil && !r.bad {
			set.Resources = append(set.Resources, r.d)
		}
	}
	slices.SortFunc(set.Resources, func(a, b *syncd.Desired) int { return a.Key.Compare(b.Key) })

	for _, f := range l.files {
		set.Files = append(set.Files, f)
	}
	slices.SortFunc(set.Files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	h := sha256.New()
	rels := make([]string, 0, len(set.Files))
	byRel := make(map[string]string, len(set.Files))
	for _, f := range set.Files {
		r := l.rel[f.Path]
		rels = append(rels, r)
		byRel[r] = f.Digest
	}
	slices.Sort(rels)
	var line []byte
	for _, r := range rels {
		line = append(append(append(append(line[:0], r...), 0), byRel[r]...), '\n')
		h.Write(line)
	}
	set.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))

	sortErrors(l.errs)
	set.Errors = l.errs
	if len(set.Errors) > 0 {
		return set, set.Errors
	}
	return set, nil
}
