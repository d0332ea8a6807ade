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

// hashed is a desired set's resources (sorted by key, as desired.Set
// keeps them) with the DesiredHash of each at the same index.
type hashed struct {
	res  []*syncd.Desired
	hash []string
}

// desiredHashes hashes every resource of set, reusing the hash of a
// resource a Reload carried over unchanged (the very same *Desired). Both
// lists are sorted by key, so one walk pairs them: nothing is built per
// resource but the list of hashes.
func (d *Daemon) desiredHashes(set *desired.Set) hashed {
	prev := d.lastHashed
	out := hashed{res: set.Resources, hash: make([]string, len(set.Resources))}
	j := 0
	for i, r := range set.Resources {
		for j < len(prev.res) && prev.res[j].Key.Compare(r.Key) < 0 {
			j++
		}
		if j < len(prev.res) && prev.res[j] == r {
			out.hash[i] = prev.hash[j]
			continue
		}
		out.hash[i] = planner.DesiredHash(d.opts.Runner.Engine.Hasher, r)
	}
	d.lastHashed = out
	return out
}

// changedSince lists the keys of cur whose hash differs from good's or that
// good lacks, in key order; removed reports a key of good that cur lacks.
func changedSince(good, cur hashed) (changed []syncd.Key, removed bool) {
	changed = []syncd.Key{}
	i, j := 0, 0
	for i < len(cur.res) || j < len(good.res) {
		c := 0
		switch {
		case i == len(cur.res):
			c = 1
		case j == len(good.res):
			c = -1
		default:
			c = cur.res[i].Key.Compare(good.res[j].Key)
		}
		switch {
		case c < 0: // new in cur
			changed = append(changed, cur.res[i].Key)
			i++
		case c > 0: // gone from cur
			removed = true
			j++
		default:
			if cur.hash[i] != good.hash[j] {
				changed = append(changed, cur.res[i].Key)
			}
			i++
			j++
		}
	}
	return changed, removed
}
