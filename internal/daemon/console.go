package daemon

import (
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/syncd/syncd/internal/console"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
)

// consoleState is what the web console shows beyond /v1/status: the last
// plan and the declared resources (keys and files only, never a spec).
// Guarded by Daemon.mu.
type consoleState struct {
	plan       *planner.Plan
	declared   []console.Declared
	loadErrors []string
	// from are the resources declared was made of, at the same index.
	from     []*syncd.Desired
	revision string
	requests int64
}

// noteConsole keeps a finished step's plan and manifests for the console.
// used is the desired set the step planned from (the last good one when
// loaded has errors), revision the manifests' revision the run recorded.
func (d *Daemon) noteConsole(res *reconcile.Result, loaded, used *desired.Set, revision string) {
	cs := consoleState{revision: revision, from: used.Resources}
	// A resource a Reload carried over (the very same *Desired, both lists
	// sorted by key) keeps the entry it had.
	d.mu.Lock()
	prevFrom, prevDeclared := d.console.from, d.console.declared
	d.mu.Unlock()
	j := 0
	for _, r := range used.Resources {
		for j < len(prevFrom) && prevFrom[j].Key.Compare(r.Key) < 0 {
			j++
		}
		if j < len(prevFrom) && prevFrom[j] == r && j < len(prevDeclared) {
			cs.declared = append(cs.declared, prevDeclared[j])
			continue
		}
		file := r.Source.File
		if rel, err := filepath.Rel(d.opts.ManifestsDir, file); err == nil && filepath.IsLocal(rel) {
			file = filepath.ToSlash(rel)
		}
		cs.declared = append(cs.declared, console.Declared{Key: r.Key, File: file})
	}
	for _, e := range loaded.Errors {
		cs.loadErrors = append(cs.loadErrors, e.Error())
	}
	if res != nil {
		for _, s := range res.Requests {
			cs.requests += s.Total()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.console
	cs.plan = mergePlans(prev.plan, resPlan(res), used)
	d.console = cs
}

func resPlan(res *reconcile.Result) *planner.Plan {
	if res == nil {
		return nil
	}
	return res.Plan
}

// mergePlans lays a run's plan over the previous one: a run scoped to the
// changed manifests plans only those, and the other declared resources keep
// what the previous plan said of them. The changes of both plans and the
// resources are sorted by key, so one walk merges them.
func mergePlans(prev, cur *planner.Plan, used *desired.Set) *planner.Plan {
	if cur == nil {
		return prev
	}
	if prev == nil {
		return cur
	}
	curC, prevC := byKey(cur.Changes), byKey(prev.Changes)
	out := &planner.Plan{Changes: make([]planner.Change, 0, len(curC)+len(prevC)), Summary: cur.Summary, LoadFailed: cur.LoadFailed}
	declared := used.Resources
	i, j, k := 0, 0, 0
	for i < len(curC) || j < len(prevC) {
		if i < len(curC) && (j == len(prevC) || curC[i].Key.Compare(prevC[j].Key) <= 0) {
			// Planned now: what the previous plan said of it goes.
			for j < len(prevC) && prevC[j].Key == curC[i].Key {
				j++
			}
			out.Changes = append(out.Changes, curC[i])
			i++
			continue
		}
		c := prevC[j]
		j++
		for k < len(declared) && declared[k].Key.Compare(c.Key) < 0 {
			k++
		}
		if k < len(declared) && declared[k].Key == c.Key {
			out.Changes = append(out.Changes, c)
		}
	}
	return out
}

// byKey is changes sorted by key: as they are when they already are.
func byKey(changes []planner.Change) []planner.Change {
	cmp := func(a, b planner.Change) int { return a.Key.Compare(b.Key) }
	if slices.IsSortedFunc(changes, cmp) {
		return changes
	}
	sorted := slices.Clone(changes)
	slices.SortStableFunc(sorted, cmp)
	return sorted
}

// ConsoleStatus is the daemon's state for the web console.
func (d *Daemon) ConsoleStatus() console.Status {
	leader := d.IsLeader()
	d.mu.Lock()
	st, cs := d.status, d.console
	d.mu.Unlock()
	out := console.Status{
		Mode: d.opts.Mode, Leader: leader, Schedule: d.opts.Schedule, Revision: cs.revision,
		Plan: cs.plan, Declared: cs.declared, LoadErrors: cs.loadErrors,
	}
	for _, s := range st.Stuck {
		out.Stuck = append(out.Stuck, s.Key)
	}
	if d.opts.Store != nil {
		out.SpoolDepth = d.opts.Store.SpoolDepth()
	}
	if d.opts.Schedule != "" {
		if s, err := ValidateSchedule(d.opts.Schedule); err == nil {
			out.NextScan = s.Next(time.Now()).UTC()
		}
	}
	if r := st.LastRun; r != nil {
		out.LastRun = &console.LastRun{
			ID: r.ID, Trigger: r.Trigger, Mode: r.Mode, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
			Outcome: r.Outcome, Error: r.Error, Applied: r.Applied, Failed: r.Failed, Requests: cs.requests,
		}
	}
	return out
}

// consoleHandler serves the web console (mounted at / by handler).
func (d *Daemon) consoleHandler() http.Handler {
	var store console.Store
	if d.opts.Store != nil {
		store = d.opts.Store
	}
	return console.New(d, store, console.Options{Logger: d.log})
}
