package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
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
	// natural maps each natural key to its manifest, readers each file
	// read to the manifests that read it, and total is the sum of bytes;
	// each is built on first use (reloadQuick keeps them up to date).
	natural    map[string]string
	readers    map[string][]string
	total      int64
	totalKnown bool
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
// (which mark duplicates bad).
func slimDocs(docs []*docResult) []*docResult {
	out := make([]*docResult, len(docs))
	for i, r := range docs {
		c := *r
		out[i] = &c
	}
	return out
}

// Reload is Load of the same directory after the files in changed
// (relative to it, forward slashes, as the watcher reports them) changed,
// appeared or disappeared. It reads only those files and the manifests
// that read them ($file includes, ${file:} secrets); every other manifest's
// documents and problems are taken from prev, and the checks across
// documents (duplicate names and natural keys) run again over all of them.
// prev must have been loaded with KeepForReload (or by Reload); the result
// keeps reload state too, which it may take over from prev: reload the
// result next, not prev again. Environment references are resolved again
// only in the files read.
func Reload(prev *Set, changed []string) (*Set, error) {
	if prev == nil || prev.keep == nil {
		return nil, errNoReloadState
	}
	old := prev.keep
	affected := map[string]bool{}
	readers := old.readersOf()
	for _, rel := range changed {
		shown := display(filepath.Join(old.root, filepath.FromSlash(rel)))
		if isManifestName(filepath.Base(rel)) && !hiddenPath(rel) {
			affected[shown] = true
		}
		for _, m := range readers[shown] {
			affected[m] = true
		}
	}
	if set, ok := reloadQuick(prev, affected); ok {
		return set, nil
	}
	l := reloadLoader(old, affected)
	if l.manifests.root == nil {
		// The directory itself is gone or unreadable: say so as Load does.
		return Load(old.root, Options{Getenv: old.getenv, SecretDirs: old.secretDirs, Limits: old.limits, KeepForReload: true, Platforms: old.platforms})
	}
	defer l.closeAreas()
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
		l.reloadManifest(m)
	}
	set, err := l.finish()
	set.keep = l.kept()
	return set, err
}

// reloadLoader is a loader for reading the affected manifests again on top
// of old: the total limit counts what the other manifests read before.
// When its manifests area has no root the directory is gone.
func reloadLoader(old *reloadState, affected map[string]bool) *loader {
	l := &loader{
		root: old.root, getenv: old.getenv, limits: old.limits, secretDirs: old.secretDirs,
		files: map[string]File{}, rel: map[string]string{},
		keep:      newReloadState(old.root, old.getenv, old.limits, old.secretDirs),
		platforms: old.platforms,
	}
	l.keep.platforms = old.platforms
	l.manifests = newArea(old.root)
	l.budget = l.limits.TotalBytes - old.totalBytes()
	for m := range affected {
		l.budget += old.bytes[m]
	}
	return l
}

// reloadManifest reads the manifest m (a display path) again, or nothing
// when it is gone.
func (l *loader) reloadManifest(m string) {
	rel, err := filepath.Rel(l.root, filepath.FromSlash(m))
	if err != nil {
		return
	}
	// The same metadata checks as a full walk: a symlink leading out,
	// a fifo or a device is named, never opened.
	info, err := l.manifests.root.Lstat(filepath.ToSlash(rel))
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return // removed
	}
	if err != nil {
		l.addError(m, nil, "", "cannot read: %s", pathErrText(err))
		return
	}
	if info.IsDir() {
		return
	}
	l.entry(rel, fs.FileInfoToDirEntry(info))
}

// reloadQuick is Reload for a daemon's everyday edit, without walking
// every document again: the previous Set had no problem, the affected
// manifests read again have none either, none of their names or natural
// keys is used by another manifest, and no other manifest reads a file they
// read (before or now). Then the checks across documents cannot find
// anything new, and the Set is the previous one with the affected
// manifests' resources and files swapped. ok is false when a condition
// does not hold; Reload then takes the general path, which reads the
// affected manifests once more. On success the reload state moves from
// prev to the result, updated in place: prev cannot be reloaded again.
func reloadQuick(prev *Set, affected map[string]bool) (*Set, bool) {
	old := prev.keep
	if len(prev.Errors) > 0 {
		return nil, false
	}
	l := reloadLoader(old, affected)
	if l.manifests.root == nil {
		return nil, false
	}
	defer l.closeAreas()
	ms := make([]string, 0, len(affected))
	for m := range affected {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, walkOrder)
	for _, m := range ms {
		l.reloadManifest(m)
	}
	if len(l.errs) > 0 || l.overBudget {
		return nil, false
	}

	// What the affected manifests read, before and now, must be theirs.
	theirs := map[string]bool{}
	for m := range affected {
		for _, f := range old.reads[m] {
			theirs[f] = true
		}
	}
	for f := range l.files {
		theirs[f] = true
	}
	readers := old.readersOf()
	for f := range theirs {
		for _, m := range readers[f] {
			if !affected[m] {
				return nil, false
			}
		}
	}

	// Their old resources, which the new ones may take the names and
	// natural keys of.
	gone := map[*syncd.Desired]bool{}
	for m := range affected {
		for _, r := range old.docs[m] {
			if r.d != nil {
				gone[r.d] = true
			}
		}
	}
	natural := old.naturalKeys()
	names := map[syncd.Key]bool{}
	nks := map[string]bool{}
	for _, r := range l.docs {
		if r.d == nil || r.bad || r.nameAt == nil || names[r.d.Key] {
			return nil, false
		}
		names[r.d.Key] = true
		if d := prev.Get(r.d.Key); d != nil && !gone[d] {
			return nil, false
		}
		if r.keyAt == nil {
			continue
		}
		nk, ok := old.naturalKeyOf(r.d)
		if !ok || nks[nk] {
			return nil, false
		}
		nks[nk] = true
		if owner, ok := natural[nk]; ok && !affected[owner] {
			return nil, false
		}
	}

	// prev's lists stay as they are (the caller may keep prev): the new
	// Set gets copies with the swaps made.
	byKey := func(a, b *syncd.Desired) int { return a.Key.Compare(b.Key) }
	set := &Set{Resources: slices.Clone(prev.Resources), Files: slices.Clone(prev.Files)}
	for d := range gone {
		if i, ok := slices.BinarySearchFunc(set.Resources, d, byKey); ok && set.Resources[i] == d {
			set.Resources = slices.Delete(set.Resources, i, i+1)
		}
	}
	for _, r := range l.docs {
		set.Resources = insertSorted(set.Resources, r.d, byKey)
	}
	byPath := func(a, b File) int { return strings.Compare(a.Path, b.Path) }
	for f := range theirs {
		if i, ok := slices.BinarySearchFunc(set.Files, File{Path: f}, byPath); ok {
			set.Files = slices.Delete(set.Files, i, i+1)
		}
	}
	for _, f := range l.files {
		set.Files = insertSorted(set.Files, f, byPath)
	}

	k, loaded := old, l.keep
	if !sameManifests(old.order, affected, loaded.docs) {
		order := make([]string, 0, len(old.order)+len(loaded.order))
		for _, m := range old.order {
			if !affected[m] {
				order = append(order, m)
			}
		}
		for _, m := range loaded.order {
			order = insertSorted(order, m, walkOrder)
		}
		k.order = order
	}
	for m := range affected {
		for _, r := range old.docs[m] {
			if r.d != nil && r.keyAt != nil {
				if nk, ok := old.naturalKeyOf(r.d); ok {
					delete(natural, nk)
				}
			}
		}
		for _, f := range old.reads[m] {
			readers[f] = slices.DeleteFunc(readers[f], func(x string) bool { return x == m })
			if len(readers[f]) == 0 {
				delete(readers, f)
			}
		}
		k.total -= old.bytes[m]
		delete(k.docs, m)
		delete(k.errs, m)
		delete(k.reads, m)
		delete(k.bytes, m)
	}
	for f := range theirs {
		delete(k.files, f)
		delete(k.rel, f)
	}
	for _, m := range loaded.order {
		k.docs[m], k.errs[m], k.reads[m], k.bytes[m] = loaded.docs[m], loaded.errs[m], loaded.reads[m], loaded.bytes[m]
		k.total += loaded.bytes[m]
		for _, f := range loaded.reads[m] {
			readers[f] = append(readers[f], m)
		}
		for _, r := range loaded.docs[m] {
			if r.d != nil && r.keyAt != nil {
				if nk, ok := old.naturalKeyOf(r.d); ok {
					natural[nk] = m
				}
			}
		}
	}
	for f, file := range l.files {
		k.files[f], k.rel[f] = file, l.rel[f]
	}
	set.Digest = digestOf(set.Files, k.rel)
	set.keep, prev.keep = k, nil
	return set, true
}

// sameManifests reports whether the affected manifests are all still
// manifests (loaded) and were before, so that the walk order is unchanged.
func sameManifests(order []string, affected map[string]bool, loaded map[string][]*docResult) bool {
	for m := range affected {
		_, now := loaded[m]
		_, before := slices.BinarySearchFunc(order, m, walkOrder)
		if now != before {
			return false
		}
	}
	return true
}

// naturalKeys maps the natural key (as finish spells it) of every
// document to the manifest it is in, built on first use.
func (k *reloadState) naturalKeys() map[string]string {
	if k.natural != nil {
		return k.natural
	}
	natural := map[string]string{}
	for m, docs := range k.docs {
		for _, r := range docs {
			if r.d != nil && r.keyAt != nil {
				if nk, ok := k.naturalKeyOf(r.d); ok {
					natural[nk] = m
				}
			}
		}
	}
	k.natural = natural
	return natural
}

// readersOf maps every file read to the manifests that read it, built on
// first use.
func (k *reloadState) readersOf() map[string][]string {
	if k.readers == nil {
		k.readers = map[string][]string{}
		for m, reads := range k.reads {
			for _, f := range reads {
				k.readers[f] = append(k.readers[f], m)
			}
		}
	}
	return k.readers
}

// totalBytes is what every manifest's load read, summed on first use.
func (k *reloadState) totalBytes() int64 {
	if !k.totalKnown {
		k.total = 0
		for _, n := range k.bytes {
			k.total += n
		}
		k.totalKnown = true
	}
	return k.total
}

// naturalKeyOf is d's natural key with its kind, as finish compares them.
// The platforms are the load's (Options.Platforms, or the registry's).
func (k *reloadState) naturalKeyOf(d *syncd.Desired) (string, bool) {
	pls := k.platforms
	if pls == nil {
		pls = registry.All()
	}
	i := slices.IndexFunc(pls, func(p platform.Platform) bool { return p.Kind() == d.Key.Kind })
	if i < 0 {
		return "", false
	}
	pl := pls[i]
	return string(d.Key.Kind) + "\x00" + pl.NaturalKey(d.Spec), true
}

// digestOf is Set.Digest over files, as finish computes it: each file's
// path relative to the directory and its digest, in the order of those
// paths.
func digestOf(files []File, rel map[string]string) string {
	type entry struct{ rel, digest string }
	es := make([]entry, len(files))
	n := 0
	for i, f := range files {
		es[i] = entry{rel[f.Path], f.Digest}
		n += len(es[i].rel) + len(f.Digest) + 2
	}
	byRel := func(a, b entry) int { return strings.Compare(a.rel, b.rel) }
	if !slices.IsSortedFunc(es, byRel) {
		slices.SortFunc(es, byRel)
	}
	buf := make([]byte, 0, n)
	for _, e := range es {
		buf = append(append(append(append(buf, e.rel...), 0), e.digest...), '\n')
	}
	sum := sha256.Sum256(buf)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func insertSorted[T any](s []T, v T, cmp func(a, b T) int) []T {
	i, _ := slices.BinarySearchFunc(s, v, cmp)
	return slices.Insert(s, i, v)
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
