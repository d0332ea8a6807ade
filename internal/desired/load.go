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

	"github.com/syncd/syncd/internal/syncd"
)

// Options tune Load.
type Options struct {
	// Getenv resolves ${env:NAME}; nil means os.LookupEnv. Tests pass their
	// own so that they never touch the process environment.
	Getenv func(string) (string, bool)
	// KeepForReload keeps what Reload needs in the Set (a daemon's).
	KeepForReload bool
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
		files:  map[string]File{},
		rel:    map[string]string{},
	}
	if l.getenv == nil {
		l.getenv = os.LookupEnv
	}
	if opts.KeepForReload {
		l.keep = newReloadState(dir, l.getenv)
	}
	l.walk()
	set, err := l.finish()
	if l.keep != nil {
		set.keep = l.kept()
	}
	return set, err
}

// loader is the state of one Load.
type loader struct {
	root   string
	getenv func(string) (string, bool)
	errs   Errors
	files  map[string]File   // by display path
	rel    map[string]string // display path -> path relative to root, for the digest
	docs   []*docResult
	// keep and current record, per manifest, what Reload needs.
	keep    *reloadState
	current string
}

// docResult is one decoded document, kept with what the cross-document
// checks need to point at.
type docResult struct {
	d       *syncd.Desired
	bad     bool
	nameAt  *yaml.Node
	keyAt   *yaml.Node // the natural key's node (Make label, Patchworks name)
	keySens bool       // the natural key came from a secret reference
	file    string
}

func (l *loader) addError(file string, n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
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
	err = filepath.WalkDir(l.root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			l.addError(display(p), nil, "", "cannot read: %s", pathErrText(err))
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != l.root && strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() || !isManifestName(de.Name()) {
			return nil
		}
		l.manifest(p)
		return nil
	})
	if err != nil {
		l.addError(display(l.root), nil, "", "cannot walk: %s", pathErrText(err))
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

// readFile reads a file and records it in Files.
func (l *loader) readFile(p string) ([]byte, error) { return l.read(p, false) }

// readSecretFile reads a ${file:} secret. Its digest is not a hash of the
// content: a plain hash of a short secret could be brute-forced from a
// published plan file. A change to it still shows in the resources'
// keyed DesiredHash.
func (l *loader) readSecretFile(p string) ([]byte, error) { return l.read(p, true) }

func (l *loader) read(p string, secret bool) ([]byte, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	shown := display(p)
	l.noteRead(shown)
	if _, ok := l.files[shown]; !ok {
		digest := "secret"
		if !secret {
			sum := sha256.Sum256(data)
			digest = "sha256:" + hex.EncodeToString(sum[:])
		}
		l.files[shown] = File{Path: shown, Digest: digest}
		rel, rerr := filepath.Rel(l.root, p)
		if rerr != nil {
			rel = p
		}
		l.rel[shown] = filepath.ToSlash(rel)
	}
	return data, nil
}

func (l *loader) file(p string) {
	shown := display(p)
	data, err := l.readFile(p)
	if err != nil {
		l.addError(shown, nil, "", "cannot read: %s", pathErrText(err))
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
		if r := l.document(shown, filepath.Dir(p), &doc); r != nil {
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
	names := map[syncd.Key]*docResult{}
	natural := map[string]*docResult{}
	for _, r := range l.docs {
		if r.d == nil {
			continue
		}
		if r.nameAt != nil {
			if first, ok := names[r.d.Key]; ok {
				l.addError(r.file, r.nameAt, "metadata.name", "duplicate %s name %q (first defined at %s:%d)",
					r.d.Key.Kind, r.d.Key.Name, first.file, first.nameAt.Line)
				r.bad = true
			} else {
				names[r.d.Key] = r
			}
		}
		if r.keyAt != nil {
			nk := string(r.d.Key.Kind) + "\x00" + r.d.NaturalKey()
			if first, ok := natural[nk]; ok {
				what := "natural key"
				if r.d.Key.Kind == syncd.MakeConnection {
					what = "natural key (app + label)"
				}
				shown := ""
				if !r.keySens && !first.keySens {
					shown = fmt.Sprintf(" %q", r.d.NaturalKey())
				}
				l.addError(r.file, r.keyAt, naturalKeyField(r.d.Key.Kind), "duplicate %s %s%s: also used by %s at %s:%d",
					r.d.Key.Kind, what, shown, first.d.Key.Name, first.file, first.keyAt.Line)
				r.bad = true
			} else {
				natural[nk] = r
			}
		}
	}

	set := &Set{}
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
	byRel := map[string]string{}
	for _, f := range set.Files {
		r := l.rel[f.Path]
		rels = append(rels, r)
		byRel[r] = f.Digest
	}
	slices.Sort(rels)
	for _, r := range rels {
		fmt.Fprintf(h, "%s\x00%s\n", r, byRel[r])
	}
	set.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))

	sortErrors(l.errs)
	set.Errors = l.errs
	if len(set.Errors) > 0 {
		return set, set.Errors
	}
	return set, nil
}

func naturalKeyField(k syncd.Kind) string {
	if k == syncd.MakeConnection {
		return "spec.label"
	}
	return "spec.name"
}
