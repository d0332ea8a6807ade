package daemon

import (
	"slices"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
)

// load returns the desired state for a run of t: for a change the watcher
// could name file by file, only those files (and the manifests including
// them) are read again on top of the last load; anything else reads the
// whole directory.
func (d *Daemon) load(t trigger) *desired.Set {
	if !t.full && len(t.paths) > 0 && d.loaded != nil {
		paths := make([]string, 0, len(t.paths))
		for p := range t.paths {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		if set, _ := desired.Reload(d.loaded, paths); set != nil {
			d.loaded = set
			return set
		}
	}
	lo := d.opts.Load
	if lo.Getenv == nil {
		lo.Getenv = d.opts.Getenv
	}
	lo.KeepForReload = true
	set, _ := desired.Load(d.opts.ManifestsDir, lo)
	d.loaded = set
	return set
}

// desiredHashes hashes every resource of set, reusing the hash of a
// resource a Reload carried over unchanged.
func (d *Daemon) desiredHashes(set *desired.Set) map[syncd.Key]string {
	hashes := make(map[syncd.Key]string, len(set.Resources))
	next := make(map[*syncd.Desired]string, len(set.Resources))
	for _, r := range set.Resources {
		h, ok := d.hashOf[r]
		if !ok {
			h = planner.DesiredHash(d.opts.Runner.Engine.Hasher, r)
		}
		hashes[r.Key], next[r] = h, h
	}
	d.hashOf = next
	return hashes
}
