package desired

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/platform"
)

// reloadState is what Reload needs of a previous Load: per manifest file,
// its documents, the problems found in it and every file it read (itself,
// $file includes, ${file:} secrets). It is kept only with
// Options.KeepForReload (a daemon); the documents keep no YAML tree, only
// the positions the cross-document checks point at.
type reloadState struct {
	root       string
	getenv     func(string) (string, bool)
	limits     Limits
	secretDirs []string
	platforms  []platform.Platform // Options.Platforms
	order      []string            // manifest display paths in walk order
	docs       map[string][]*docResult
	errs       map[string]Errors
	reads      map[string][]string
	bytes      map[string]int64 // bytes each manifest's load read, for the total limit
	files      map[string]File
	rel        map[string]string
}

// manifest loads one manifest file (rel inside the manifests directory)
// and, when the loader keeps reload state, records what it produced and
// read.
func (l *loader) manifest(rel string) {
	if l.keep == nil {
		l.file(rel)
		return
	}
	shown := l.manifests.display(rel)
	nDocs, nErrs := len(l.docs), len(l.errs)
	l.current = shown
	l.file(rel)
	l.current = ""
	k := l.keep
	k.order = append(k.order, shown)
	k.docs[shown] = slimDocs(l.docs[nDocs:])
	k.errs[shown] = slices.Clone(l.errs[nErrs:])
}

// noteRead records that the manifest being loaded read shown (n bytes).
func (l *loader) noteRead(shown string, n int64) {
	if l.keep == nil || l.current == "" {
		return
	}
	l.keep.bytes[l.current] += n
	if !slices.Contains(l.keep.reads[l.current], shown) {
		l.keep.reads[l.current] = append(l.keep.reads[l.current], shown)
	}
}

// kept finishes the reload state of a Load with the files it read.
func (l *loader) kept() *reloadState {
	l.keep.files, l.keep.rel = l.files, l.rel
	return l.keep
}

// slimDocs copies documents as they are before the cross-document checks
// (which mark duplicates bad), with positions instead of YAML nodes.
func slimDocs(docs []*docResult) []*docResult {
	out := make([]*docResult, len(docs))
	for i, r := range docs {
		c := *r
		c.nameAt, c.keyAt = nodePosition(r.nameAt), nodePosition(r.keyAt)
		out[i] = &c
	}
	return out
}

func nodePosition(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	return &yaml.Node{Line: n.Line, Column: n.Column}
}

// Reload is Load of the same directory after the files in changed
// (relative to it, forward slashes, as the watcher reports them) changed,
// appeared or disappeared. It reads only those files and the manifests
// that read them ($file includes, ${file:} secrets); every other manifest's
// documents and problems are taken from prev, and the checks across
// documents (duplicate names and natural keys) run again over all of them.
// prev must have been loaded with KeepForReload (or by Reload); the result
// keeps reload state too. Environment references are resolved again only
// in the files read.
func Reload(prev *Set, changed []string) (*Set, error) {
	if prev == nil || prev.keep == nil {
		return nil, errNoReloadState
	}
	old := prev.keep
	affected := map[string]bool{}
	for _, rel := range changed {
		shown := display(filepath.Join(old.root, filepath.FromSlash(rel)))
		if isManifestName(filepath.Base(rel)) && !hiddenPath(rel) {
			affected[shown] = true
		}
		for m, reads := range old.reads {
			if slices.Contains(reads, shown) {
				affected[m] = true
			}
		}
	}
	l := &loader{
		root: old.root, getenv: old.getenv, limits: old.limits, secretDirs: old.secretDirs,
		files: map[string]File{}, rel: map[string]string{},
		keep:      newReloadState(old.root, old.getenv, old.limits, old.secretDirs),
		platforms: old.platforms,
	}
	l.keep.platforms = old.platforms
	l.manifests = newArea(old.root)
	if l.manifests.root == nil {
		// The directory itself is gone or unreadable: say so as Load does.
		return Load(old.root, Options{Getenv: old.getenv, SecretDirs: old.secretDirs, Limits: old.limits, KeepForReload: true, Platforms: old.platforms})
	}
	defer l.closeAreas()
	// The total limit counts what the kept manifests read before.
	l.budget = l.limits.TotalBytes
	for m, n := range old.bytes {
		if !affected[m] {
			l.budget -= n
		}
	}
	order := slices.Clone(old.order)
	for m := range affected {
		if !slices.Contains(order, m) {
			order = append(order, m)
		}
	}
	slices.SortFunc(order, walkOrder)
	for _, m := range order {
		if !affected[m] {
			k := l.keep
			k.order = append(k.order, m)
			k.docs[m], k.errs[m], k.reads[m], k.bytes[m] = old.docs[m], old.errs[m], old.reads[m], old.bytes[m]
			for _, r := range old.docs[m] {
				c := *r // finish marks duplicates in its own copy
				l.docs = append(l.docs, &c)
			}
			l.errs = append(l.errs, old.errs[m]...)
			for _, f := range old.reads[m] {
				if file, ok := old.files[f]; ok {
					l.files[f], l.rel[f] = file, old.rel[f]
				}
			}
			continue
		}
		rel, err := filepath.Rel(old.root, filepath.FromSlash(m))
		if err != nil {
			continue
		}
		// The same metadata checks as a full walk: a symlink leading out,
		// a fifo or a device is named, never opened.
		info, err := l.manifests.root.Lstat(filepath.ToSlash(rel))
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			continue // removed
		}
		if err != nil {
			l.addError(m, nil, "", "cannot read: %s", pathErrText(err))
			continue
		}
		if info.IsDir() {
			continue
		}
		l.entry(rel, fs.FileInfoToDirEntry(info))
	}
	set, err := l.finish()
	set.keep = l.kept()
	return set, err
}

// walkOrder orders display paths as filepath.WalkDir visits them: by
// path element, so that "a/b.yaml" comes before "a.yaml"'s sibling "a0".
func walkOrder(a, b string) int {
	return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
}

func newReloadState(root string, getenv func(string) (string, bool), limits Limits, secretDirs []string) *reloadState {
	return &reloadState{root: root, getenv: getenv, limits: limits, secretDirs: secretDirs,
		docs: map[string][]*docResult{}, errs: map[string]Errors{}, reads: map[string][]string{}, bytes: map[string]int64{}}
}

var errNoReloadState = errors.New("desired: Reload needs a Set loaded with KeepForReload")
