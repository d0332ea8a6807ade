package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
)

// StuckAfter is how many attempts in a row that were not effective or that
// the platform refused (executor.Result.Persistent), each with the same
// desired and live state, make a resource stuck: the daemon then stops
// retrying it. Transient failures (outages, timeouts, rate limits, the
// database down) neither count nor reset the count, so that an outage never
// leaves a resource stuck.
const StuckAfter = 3

// Audit outcomes of the stuck lifecycle. A resource becoming stuck is one
// change_failed event with outcome "stuck"; one no longer held back (its
// manifest or live state changed, or it converged) is a change_planned
// event with outcome "unstuck". New outcomes rather than new event types,
// so that the audit table needs no migration.
const (
	OutcomeStuck   = "stuck"
	OutcomeUnstuck = "unstuck"
)

// Stuck is a resource the daemon holds back.
type Stuck struct {
	Key      syncd.Key `json:"-"`
	Resource string    `json:"resource"`
	RemoteID string    `json:"remote_id,omitempty"`
	Action   string    `json:"action"`
	Attempts int       `json:"attempts"`
	Since    time.Time `json:"since"`
	Error    string    `json:"error"`
}

// attempts is the failure history of one resource's change.
type attempts struct {
	sig    string // the change's desired and live state
	n      int
	remote string // the last attempt's remote id, action and error
	action string
	err    string
	stuck  *Stuck
}

// stored is a as the books keep it; nil a is none.
func (a *attempts) stored() *audit.ChangeAttempts {
	if a == nil {
		return nil
	}
	out := &audit.ChangeAttempts{Signature: a.sig, Attempts: a.n, RemoteID: a.remote, Action: a.action, Error: a.err}
	if a.stuck != nil {
		out.StuckSince = a.stuck.Since
	}
	return out
}

// loaded is the history the books keep for k.
func loaded(k syncd.Key, c audit.ChangeAttempts) *attempts {
	a := &attempts{sig: c.Signature, n: c.Attempts, remote: c.RemoteID, action: c.Action, err: c.Error}
	if !c.StuckSince.IsZero() {
		a.stuck = &Stuck{Key: k, Resource: k.String(), RemoteID: c.RemoteID, Action: c.Action,
			Attempts: c.Attempts, Since: c.StuckSince, Error: c.Error}
	}
	return a
}

// signature identifies a change by its desired state and the live state
// it was planned against (the changed fields as seen: redacted values and
// keyed hashes only). A change with the same signature would make the same
// writes against the same object.
func signature(c planner.Change) string {
	b, _ := json.Marshal(struct {
		Action      planner.Action
		RemoteID    string
		DesiredHash string
		Fields      []syncd.FieldChange
	}{c.Action, c.RemoteID, c.DesiredHash, c.Fields})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// actionable says whether the executor would write c.
func actionable(c planner.Change) bool {
	return c.Action != planner.ActionNoop && c.Blocked == "" && !c.ReportOnly && c.Error == ""
}

// Stuck lists the resources held back, by key.
func (r *Runner) Stuck() []Stuck {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Stuck
	for _, a := range r.attempts {
		if a.stuck != nil {
			out = append(out, *a.stuck)
		}
	}
	slices.SortFunc(out, func(a, b Stuck) int { return a.Key.Compare(b.Key) })
	return out
}

// holdStuck decides, before an apply, which changes stay held back: a stuck
// resource whose change has the same signature is not retried, unless the
// run is manual. A resource whose manifest or live state moved, or that
// needs no change any more, is released (and its history forgotten).
func (r *Runner) holdStuck(ctx context.Context, run syncd.Run, req Request, p *planner.Plan) map[syncd.Key]bool {
	r.syncAttempts(ctx, run)
	r.mu.Lock()
	var released []Stuck
	var forgotten []syncd.Key
	hold := map[syncd.Key]bool{}
	planned := map[syncd.Key]bool{}
	for _, c := range p.Changes {
		planned[c.Key] = true
		a := r.attempts[c.Key]
		if a == nil {
			continue
		}
		switch {
		case c.Error != "" || (c.Action != planner.ActionNoop && !actionable(c)):
			// Not written this time either way; keep the history.
		case c.Action == planner.ActionNoop || signature(c) != a.sig:
			if a.stuck != nil {
				released = append(released, *a.stuck)
			}
			delete(r.attempts, c.Key)
			forgotten = append(forgotten, c.Key)
		case a.stuck != nil && !req.Manual:
			hold[c.Key] = true
		}
	}
	if req.Scope == nil {
		for k, a := range r.attempts {
			if !planned[k] { // the manifest is gone
				if a.stuck != nil {
					released = append(released, *a.stuck)
				}
				delete(r.attempts, k)
				forgotten = append(forgotten, k)
			}
		}
	}
	r.mu.Unlock()
	r.saveAttempts(ctx, run, forgotten)
	for _, s := range released {
		r.log().Info("resource no longer stuck: its manifest or live state changed", "run_id", run.ID, "resource", s.Resource)
		if err := r.record(ctx, run, syncd.EventChangePlanned, s.Key, s.RemoteID, s.Action, nil, OutcomeUnstuck,
			"manifest or live state changed since it got stuck: retried"); err != nil {
			r.log().Warn("record unstuck", "run_id", run.ID, "error", err)
		}
	}
	return hold
}

// countAttempts updates the failure history from an apply's report and
// records the one stuck event of a resource that reached StuckAfter.
func (r *Runner) countAttempts(ctx context.Context, run syncd.Run, p *planner.Plan, rep executor.Report) {
	byKey := make(map[syncd.Key]planner.Change, len(p.Changes))
	for _, c := range p.Changes {
		byKey[c.Key] = c
	}
	var newly []Stuck
	var changed []syncd.Key
	r.mu.Lock()
	if r.attempts == nil {
		r.attempts = map[syncd.Key]*attempts{}
	}
	for _, res := range rep.Results {
		c, ok := byKey[res.Key]
		if !ok {
			continue
		}
		switch res.Outcome {
		case executor.OutcomeApplied:
			if r.attempts[res.Key] != nil {
				delete(r.attempts, res.Key)
				changed = append(changed, res.Key)
			}
		case executor.OutcomeFailed:
			if !res.Persistent {
				// An outage, a timeout, a rate limit: not the change's fault.
				// It neither counts nor breaks the count.
				continue
			}
			sig := signature(c)
			a := r.attempts[res.Key]
			if a == nil || a.sig != sig {
				a = &attempts{sig: sig}
				r.attempts[res.Key] = a
			}
			a.n++
			a.remote, a.action, a.err = res.RemoteID, string(c.Action), ""
			if res.Err != nil {
				a.err = res.Err.Error()
			}
			changed = append(changed, res.Key)
			if a.n >= StuckAfter && a.stuck == nil {
				a.stuck = &Stuck{Key: res.Key, Resource: res.Key.String(), RemoteID: res.RemoteID, Action: string(c.Action),
					Attempts: a.n, Since: r.now().UTC(), Error: a.err}
				newly = append(newly, *a.stuck)
			} else if a.stuck != nil {
				a.stuck.Attempts = a.n
			}
		}
	}
	r.mu.Unlock()
	r.saveAttempts(ctx, run, changed)
	for _, s := range newly {
		why := fmt.Sprintf("stuck: %d attempts in a row failed or were not effective with the same desired and live state; "+
			"not retried until the manifest or the live object changes, or on a manual apply. Last error: %s", s.Attempts, s.Error)
		r.log().Warn("resource stuck", "run_id", run.ID, "resource", s.Resource, "attempts", s.Attempts)
		if err := r.record(ctx, run, syncd.EventChangeFailed, s.Key, s.RemoteID, s.Action, nil, OutcomeStuck, why); err != nil {
			r.log().Warn("record stuck", "run_id", run.ID, "error", err)
		}
	}
}

// syncAttempts makes the runner's failure history the books': the count
// carries on from other processes (syncd run --once from cron, each run a
// process of its own) and from before a restart. Writes that failed before
// are retried first; while the database cannot be read or written, the
// runner counts on in memory.
func (r *Runner) syncAttempts(ctx context.Context, run syncd.Run) {
	if !r.flushAttempts(ctx, run) {
		return
	}
	stored, err := r.Store.ChangeAttempts(ctx)
	if err != nil {
		r.log().Warn("read the failure history of changes: counting towards stuck in memory", "run_id", run.ID, "error", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = make(map[syncd.Key]*attempts, len(stored))
	for k, c := range stored {
		r.attempts[k] = loaded(k, c)
	}
}

// saveAttempts writes the failure history of keys to the books (a key
// without history is forgotten there).
func (r *Runner) saveAttempts(ctx context.Context, run syncd.Run, keys []syncd.Key) {
	if len(keys) == 0 {
		return
	}
	r.mu.Lock()
	if r.unsaved == nil {
		r.unsaved = map[syncd.Key]bool{}
	}
	for _, k := range keys {
		r.unsaved[k] = true
	}
	r.mu.Unlock()
	r.flushAttempts(ctx, run)
}

// flushAttempts writes the history not yet in the books and reports
// whether all of it is there now.
func (r *Runner) flushAttempts(ctx context.Context, run syncd.Run) bool {
	r.mu.Lock()
	pending := make(map[syncd.Key]*audit.ChangeAttempts, len(r.unsaved))
	for k := range r.unsaved {
		pending[k] = r.attempts[k].stored()
	}
	r.mu.Unlock()
	for _, k := range slices.SortedFunc(maps.Keys(pending), syncd.Key.Compare) {
		if err := r.Store.SetChangeAttempts(ctx, k, pending[k]); err != nil {
			// The rest would most likely fail alike: tried again next run.
			r.log().Warn("write the failure history of changes: kept in memory", "run_id", run.ID, "resource", k.String(), "error", err)
			return false
		}
		r.mu.Lock()
		if now := r.attempts[k].stored(); now == nil && pending[k] == nil || now != nil && pending[k] != nil && *now == *pending[k] {
			// Unchanged meanwhile.
			delete(r.unsaved, k)
		}
		r.mu.Unlock()
	}
	return true
}
