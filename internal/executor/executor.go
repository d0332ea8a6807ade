package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Recorder persists audit events durably (database or spool) before it returns.
type Recorder interface {
	Record(ctx context.Context, events ...syncd.Event) error
}

// Inventory records which remote objects syncd owns.
type Inventory interface {
	Bind(ctx context.Context, b syncd.Binding) error
	Unbind(ctx context.Context, k syncd.Key) error
}

// Journal is the write-ahead log of creates.
type Journal interface {
	BeginIntent(ctx context.Context, in syncd.Intent) (int64, error)
	FinishIntent(ctx context.Context, id int64, state, remoteID, errText string) error
	PendingIntents(ctx context.Context) ([]syncd.Intent, error)
}

// DriftResolver closes an open drift once apply has converged the resource.
type DriftResolver interface {
	// ResolveDrift returns the drift_resolved event it recorded, nil when
	// no drift was open.
	ResolveDrift(ctx context.Context, k syncd.Key, how, runID string) (*syncd.Event, error)
}

// connectorTester is implemented by providers that can probe an object's
// credentials (Patchworks' test endpoint).
type connectorTester interface {
	Test(ctx context.Context, remoteID string) error
}

// Outcomes of one resource.
const (
	OutcomeApplied = "applied"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
	OutcomeBlocked = "blocked"
	OutcomeNoop    = "noop"
)

// Executor applies plans. Fields are set by the caller; Drift and Logger
// may be nil.
type Executor struct {
	Providers map[syncd.Kind]platform.Provider
	// Rules give each kind's natural key and its reverse (the registry
	// supplies them); a create of a kind without rules is refused.
	Rules          map[syncd.Kind]syncd.Rules
	Recorder       Recorder
	Inventory      Inventory
	Journal        Journal
	Drift          DriftResolver
	Hasher         syncd.Hasher
	Concurrency    int  // resources in flight at once; default 4
	TestConnectors bool // probe Patchworks connectors after a write
	Logger         *slog.Logger
	Now            func() time.Time
	// Done, when set, is called after each change that was not a noop
	// (from the goroutine that ran it, so it must be safe to call at
	// once from several): progress reports count objects with it.
	Done func(Result)
}

// Result is one resource's outcome.
type Result struct {
	Key      syncd.Key
	Action   planner.Action
	Outcome  string
	RemoteID string
	Err      error
	// Persistent marks a failure that the same write would meet again: a
	// write the platform accepted and did not keep, or one it refused
	// (invalid, forbidden, conflict). Outages, timeouts, rate limits and a
	// database that is down are not persistent.
	Persistent bool
	// DriftResolved is the drift episode this write closed, if any.
	DriftResolved *syncd.Event
}

// persistent says whether a failed write would fail the same way again.
func persistent(err error) bool {
	var e *platform.APIError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case platform.KindInvalid, platform.KindForbidden, platform.KindConflict:
		return true
	}
	return false
}

// Report summarises an apply.
type Report struct {
	Results                           []Result
	Applied, Failed, Skipped, Blocked int
}

// OK reports whether nothing failed.
func (r Report) OK() bool { return r.Failed == 0 }

func (x *Executor) log() *slog.Logger {
	if x.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return x.Logger
}

func (x *Executor) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// Recover resolves every pending intent left by a crash or an ambiguous
// failure: it looks the object up by natural key and binds it when exactly
// one exists, so that the plan that follows adopts it instead of creating a
// second one. It must run before planning.
func (x *Executor) Recover(ctx context.Context, run syncd.Run) error {
	return x.RecoverFor(ctx, run, nil)
}

// RecoverFor is Recover with the loaded resources: an intent whose natural
// key was journalled hashed (it holds a secret) is looked up with the
// manifest's clear key, if the manifest still has the same one.
func (x *Executor) RecoverFor(ctx context.Context, run syncd.Run, desired map[syncd.Key]*syncd.Desired) error {
	if x.Journal == nil {
		return nil
	}
	pending, err := x.Journal.PendingIntents(ctx)
	if err != nil {
		return fmt.Errorf("read pending intents: %w", err)
	}
	var errs []error
	for _, in := range pending {
		clearKey := in.NaturalKey // the key to look up by
		if rules, ok := x.Rules[in.Key.Kind]; ok && syncd.NaturalKeyHashed(in.NaturalKey) {
			d := desired[in.Key]
			if d == nil || d.SafeNaturalKey(x.Hasher, rules) != in.NaturalKey {
				errs = append(errs, fmt.Errorf("intent %d for %s: its natural key holds a secret and is stored hashed; the manifest no longer has it: resolve by hand", in.ID, in.Key))
				continue
			}
			clearKey = rules.NaturalKey(d.Spec)
		}
		if err := x.recoverOne(ctx, run, in, clearKey); err != nil {
			errs = append(errs, fmt.Errorf("intent %d for %s: %w", in.ID, in.Key, err))
		}
	}
	return errors.Join(errs...)
}

// recoverOne resolves in by looking its object up by nk, the clear form of
// its natural key.
func (x *Executor) recoverOne(ctx context.Context, run syncd.Run, in syncd.Intent, nk string) error {
	p, ok := x.Providers[in.Key.Kind]
	if !ok {
		return fmt.Errorf("no platform configured for %s", in.Key.Kind)
	}
	rules, ok := x.Rules[in.Key.Kind]
	if !ok {
		return fmt.Errorf("no platform registered for kind %s", in.Key.Kind)
	}
	found, err := p.Lookup(ctx, &syncd.Desired{Key: in.Key, Spec: rules.KeySpec(nk)})
	if err != nil {
		return fmt.Errorf("look up %q: %w", in.NaturalKey, err)
	}
	found = slices.DeleteFunc(found, func(l syncd.Live) bool { return l.RemoteID == in.RemoteID })
	switch len(found) {
	case 0:
		x.log().Info("pending create did not happen", "run_id", run.ID, "resource", in.Key.String(), "intent", in.ID)
		return x.Journal.FinishIntent(ctx, in.ID, syncd.IntentFailed, "", "not created (found by lookup after restart)")
	case 1:
		id := found[0].RemoteID
		x.log().Info("pending create did happen; binding it", "run_id", run.ID, "resource", in.Key.String(), "remote_id", id)
		if err := x.Inventory.Bind(ctx, syncd.Binding{Key: in.Key, RemoteID: id}); err != nil {
			return err
		}
		if err := x.Recorder.Record(ctx, x.event(run, syncd.EventChangeApplied, in.Key, id, in.Action, nil, OutcomeApplied, "recovered after restart: object found by natural key")); err != nil {
			return err
		}
		return x.Journal.FinishIntent(ctx, in.ID, syncd.IntentSucceeded, id, "")
	default:
		ids := make([]string, len(found))
		for i, l := range found {
			ids[i] = l.RemoteID
		}
		return fmt.Errorf("natural key %q matches %d objects (%s); resolve by hand", in.NaturalKey, len(found), strings.Join(ids, ", "))
	}
}

// Apply carries out every actionable change of p. desired maps keys to the
// loaded resources (with their secret values); changes whose resource is
// missing there (deletes) need none.
func (x *Executor) Apply(ctx context.Context, run syncd.Run, p *planner.Plan, desired map[syncd.Key]*syncd.Desired) Report {
	limit := x.Concurrency
	if limit <= 0 {
		limit = 4
	}
	results := make([]Result, len(p.Changes))
	var g errgroup.Group
	g.SetLimit(limit)
	for i, c := range p.Changes {
		g.Go(func() error {
			results[i] = x.one(ctx, run, c, desired[c.Key])
			if x.Done != nil && results[i].Outcome != OutcomeNoop {
				x.Done(results[i])
			}
			return nil
		})
	}
	_ = g.Wait()
	var rep Report
	for _, r := range results {
		if r.Outcome == OutcomeNoop {
			continue
		}
		rep.Results = append(rep.Results, r)
		switch r.Outcome {
		case OutcomeApplied:
			rep.Applied++
		case OutcomeFailed:
			rep.Failed++
		case OutcomeBlocked:
			rep.Blocked++
		default:
			rep.Skipped++
		}
	}
	return rep
}

func (x *Executor) one(ctx context.Context, run syncd.Run, c planner.Change, d *syncd.Desired) Result {
	res := Result{Key: c.Key, Action: c.Action, RemoteID: c.RemoteID}
	log := x.log().With("run_id", run.ID, "resource", c.Key.String())
	switch {
	case c.Error != "":
		res.Outcome, res.Err = OutcomeSkipped, errors.New(c.Error)
		return res
	case c.Action == planner.ActionNoop:
		res.Outcome = OutcomeNoop
		return res
	case c.Blocked != "":
		res.Outcome, res.Err = OutcomeBlocked, errors.New(c.Blocked)
		return res
	case c.ReportOnly || run.Mode == syncd.ModeReport:
		res.Outcome = OutcomeSkipped
		return res
	case ctx.Err() != nil:
		res.Outcome, res.Err = OutcomeSkipped, ctx.Err()
		return res
	}
	if d == nil && c.Action != planner.ActionDelete {
		res.Outcome, res.Err = OutcomeFailed, fmt.Errorf("%s: manifest not loaded", c.Key)
		return res
	}
	p, ok := x.Providers[c.Key.Kind]
	if !ok {
		res.Outcome, res.Err = OutcomeFailed, fmt.Errorf("no platform configured for %s", c.Key.Kind)
		return res
	}
	// No write unless its announcement is durable.
	if err := x.Recorder.Record(ctx, x.event(run, syncd.EventChangePlanned, c.Key, c.RemoteID, string(c.Action), c.Fields, "pending", "")); err != nil {
		res.Outcome, res.Err = OutcomeSkipped, fmt.Errorf("audit unavailable, not writing: %w", err)
		return res
	}
	remoteID, err := x.write(ctx, p, c, d)
	// The outcome is recorded even when the run was cancelled meanwhile.
	rctx := context.WithoutCancel(ctx)
	var note string
	if ie := (*inventoryError)(nil); errors.As(err, &ie) {
		// The platform write happened; only the inventory lags (the
		// database is down). The next run reconciles the binding.
		note, err = "applied; inventory not updated: "+ie.Error(), nil
		log.Warn("inventory not updated after a write", "action", string(c.Action), "error", ie.Error())
	}
	if err != nil {
		msg := x.scrub(err.Error(), d)
		res.Outcome, res.Err, res.RemoteID = OutcomeFailed, errors.New(msg), remoteID
		res.Persistent = persistent(err)
		log.Warn("change failed", "action", string(c.Action), "error", msg)
		if rerr := x.Recorder.Record(rctx, x.event(run, syncd.EventChangeFailed, c.Key, remoteID, string(c.Action), c.Fields, OutcomeFailed, msg)); rerr != nil {
			log.Error("audit write failed", "error", rerr)
		}
		return res
	}
	if c.Action != planner.ActionDelete {
		if msg, unknown := x.verify(ctx, p, c, d, remoteID); msg != "" {
			msg = x.scrub(msg, d)
			res.Outcome, res.Err, res.RemoteID = OutcomeFailed, errors.New(msg), remoteID
			res.Persistent = !unknown
			log.Warn("change not effective", "action", string(c.Action), "error", msg)
			if rerr := x.Recorder.Record(rctx, x.event(run, syncd.EventChangeFailed, c.Key, remoteID, string(c.Action), c.Fields, OutcomeFailed, msg)); rerr != nil {
				log.Error("audit write failed", "error", rerr)
			}
			return res
		}
	}
	res.Outcome, res.RemoteID = OutcomeApplied, remoteID
	log.Info("change applied", "action", string(c.Action), "remote_id", remoteID)
	if rerr := x.Recorder.Record(rctx, x.event(run, syncd.EventChangeApplied, c.Key, remoteID, string(c.Action), c.Fields, OutcomeApplied, note)); rerr != nil {
		log.Error("audit write failed", "error", rerr)
	}
	if len(c.Fields) > 0 && c.Action != planner.ActionCreate && c.Action != planner.ActionDelete && x.Drift != nil {
		ev, err := x.Drift.ResolveDrift(rctx, c.Key, "apply", run.ID)
		if err != nil {
			log.Error("resolve drift", "error", err)
		}
		res.DriftResolved = ev
	}
	if c.Action != planner.ActionDelete {
		x.probe(rctx, run, p, c, remoteID)
	}
	return res
}

// reader is implemented by providers that can read one object back more
// cheaply than Observe (Patchworks: one GET instead of the whole list).
type reader interface {
	Read(ctx context.Context, d *syncd.Desired, remoteID string) (syncd.Live, bool, error)
}

// verify reads the object back as a plan reads it and plans it again
// against the binding just written: any field still planned did not take
// the new value. It returns "" when the write took effect, else why not.
// A platform can answer 200 and keep nothing (Laravel drops fields it does
// not validate; Make keeps an approved app's changes pending), so a write
// is only applied once it is seen.
func (x *Executor) verify(ctx context.Context, p platform.Provider, c planner.Change, d *syncd.Desired, remoteID string) (why string, unknown bool) {
	if remoteID == "" {
		return "", false
	}
	var (
		objects []syncd.Live
		gone    []string
	)
	if r, ok := p.(reader); ok {
		l, found, err := r.Read(ctx, d, remoteID)
		if err != nil {
			return "written, but reading it back failed, so it is not known to have taken effect: " + err.Error(), true
		}
		if found {
			objects = append(objects, l)
		} else {
			gone = append(gone, remoteID)
		}
	} else {
		snap, err := p.Observe(ctx, []platform.Want{{Desired: d, RemoteID: remoteID}})
		if err != nil {
			return "written, but reading it back failed, so it is not known to have taken effect: " + err.Error(), true
		}
		objects, gone = snap.Objects, snap.Gone
	}
	again := planner.Build(planner.Input{
		Desired:  []*syncd.Desired{d},
		Live:     objects,
		Gone:     map[syncd.Kind][]string{d.Key.Kind: gone},
		Bindings: map[syncd.Key]syncd.Binding{d.Key: x.binding(d, remoteID)},
		Hasher:   x.Hasher,
		Scope:    []syncd.Key{d.Key},
		Rules:    x.Rules,
	})
	for _, ch := range again.Changes {
		if ch.Key != d.Key {
			continue
		}
		switch {
		case ch.Error != "":
			return "written, but reading it back found: " + ch.Error, true
		case ch.Action == planner.ActionCreate:
			return fmt.Sprintf("not effective: the platform accepted the write but %s is not there when read back", remoteID), false
		case ch.Action == planner.ActionNoop:
			return "", false
		}
		paths := make([]string, 0, len(ch.Fields))
		for _, f := range ch.Fields {
			paths = append(paths, f.Path)
		}
		if ch.RemoteID != remoteID {
			return fmt.Sprintf("not effective: the read-back matched %s, not the written %s", ch.RemoteID, remoteID), false
		}
		return fmt.Sprintf("not effective: the platform accepted the write but did not keep %s", strings.Join(paths, ", ")), false
	}
	return "", false
}

// inventoryError is a failure to record a binding after the platform write
// it describes succeeded.
type inventoryError struct{ err error }

func (e *inventoryError) Error() string { return e.err.Error() }
func (e *inventoryError) Unwrap() error { return e.err }

// write performs the platform calls of one change and keeps the inventory
// and the intent journal in step. It returns the remote id the resource is
// bound to afterwards.
func (x *Executor) write(ctx context.Context, p platform.Provider, c planner.Change, d *syncd.Desired) (string, error) {
	switch c.Action {
	case planner.ActionCreate:
		return x.create(ctx, p, c, d, "")
	case planner.ActionReplace:
		return x.create(ctx, p, c, d, c.RemoteID)
	case planner.ActionUpdate, planner.ActionAdopt:
		if len(c.Fields) > 0 {
			paths := make([]string, len(c.Fields))
			for i, f := range c.Fields {
				paths[i] = f.Path
			}
			if err := p.Update(ctx, c.RemoteID, d, paths); err != nil {
				return c.RemoteID, err
			}
		}
		after := context.WithoutCancel(ctx)
		if err := x.Inventory.Bind(after, x.binding(d, c.RemoteID)); err != nil {
			return c.RemoteID, &inventoryError{err}
		}
		if c.Supersedes != (syncd.Key{}) {
			// A renamed manifest: the old name no longer owns the object.
			if err := x.Inventory.Unbind(after, c.Supersedes); err != nil {
				return c.RemoteID, &inventoryError{err}
			}
		}
		return c.RemoteID, nil
	case planner.ActionDelete:
		if err := p.Delete(ctx, c.RemoteID); err != nil && !platform.IsNotFound(err) {
			return c.RemoteID, err
		}
		if err := x.Inventory.Unbind(context.WithoutCancel(ctx), c.Key); err != nil {
			return c.RemoteID, &inventoryError{err}
		}
		return c.RemoteID, nil
	}
	return c.RemoteID, fmt.Errorf("unknown action %q", c.Action)
}

// create journals the intent, deletes the replaced object (old != ""),
// creates the new one and binds it. A replace deletes first because two
// connections with one label would make the natural key ambiguous.
func (x *Executor) create(ctx context.Context, p platform.Provider, c planner.Change, d *syncd.Desired, old string) (string, error) {
	if x.Journal == nil {
		return "", errors.New("no intent journal: refusing to create without one")
	}
	rules, ok := x.Rules[c.Key.Kind]
	if !ok {
		return old, fmt.Errorf("no platform registered for kind %s: refusing to create without its natural key", c.Key.Kind)
	}
	id, err := x.Journal.BeginIntent(ctx, syncd.Intent{Key: c.Key, NaturalKey: d.SafeNaturalKey(x.Hasher, rules), Action: string(c.Action), RemoteID: old})
	if err != nil {
		return old, fmt.Errorf("journal intent (database unavailable?), not creating: %w", err)
	}
	after := context.WithoutCancel(ctx)
	if old != "" {
		if err := p.Delete(ctx, old); err != nil && !platform.IsNotFound(err) {
			_ = x.Journal.FinishIntent(after, id, syncd.IntentFailed, "", x.scrub(err.Error(), d))
			return old, fmt.Errorf("delete %s before re-create: %w", old, err)
		}
		if err := x.Inventory.Unbind(after, c.Key); err != nil {
			return old, err
		}
	}
	remoteID, err := p.Create(ctx, d)
	if err != nil && remoteID != "" {
		// The object exists but a later step of its creation failed (a
		// section or common write): own it, so that the next plan updates
		// it rather than adopting or duplicating it.
		if berr := x.Inventory.Bind(after, x.binding(d, remoteID)); berr != nil {
			return remoteID, errors.Join(err, berr)
		}
		_ = x.Journal.FinishIntent(after, id, syncd.IntentSucceeded, remoteID, x.scrub(err.Error(), d))
		return remoteID, err
	}
	if err != nil {
		if platform.IsAmbiguous(err) || ctx.Err() != nil {
			// Leave the intent pending: Recover will find out.
			return "", err
		}
		_ = x.Journal.FinishIntent(after, id, syncd.IntentFailed, "", x.scrub(err.Error(), d))
		return "", err
	}
	if err := x.Inventory.Bind(after, x.binding(d, remoteID)); err != nil {
		return remoteID, err
	}
	return remoteID, x.Journal.FinishIntent(after, id, syncd.IntentSucceeded, remoteID, "")
}

// binding records the keyed hashes of the applied values: the whole spec
// and every sensitive value (write-only secrets read back as null, so only
// this hash tells later whether the manifest's secret changed). A value
// under policy.ignore is never written, so its hash is not recorded: it
// would claim a write that did not happen.
func (x *Executor) binding(d *syncd.Desired, remoteID string) syncd.Binding {
	h := map[string]string{"": planner.DesiredHash(x.Hasher, d)}
	for _, ptr := range d.Sensitive {
		if ignored(d, ptr) {
			continue
		}
		if v, ok := syncd.ValueAt(d.Spec, ptr); ok {
			h[ptr] = x.Hasher.Hash(v)
		}
	}
	return syncd.Binding{Key: d.Key, RemoteID: remoteID, Hashes: h}
}

func ignored(d *syncd.Desired, ptr string) bool {
	for _, ig := range d.Policy.Ignore {
		if ig == "" || ig == ptr || strings.HasPrefix(ptr, ig+"/") {
			return true
		}
	}
	return false
}

func (x *Executor) probe(ctx context.Context, run syncd.Run, p platform.Provider, c planner.Change, remoteID string) {
	t, ok := p.(connectorTester)
	if !ok || !x.TestConnectors || remoteID == "" {
		return
	}
	outcome, msg := "ok", ""
	if err := t.Test(ctx, remoteID); err != nil {
		outcome, msg = OutcomeFailed, err.Error()
	}
	if err := x.Recorder.Record(ctx, x.event(run, syncd.EventConnectorTested, c.Key, remoteID, "test", nil, outcome, msg)); err != nil {
		x.log().Error("audit write failed", "run_id", run.ID, "resource", c.Key.String(), "error", err)
	}
}

func (x *Executor) event(run syncd.Run, t syncd.EventType, k syncd.Key, remoteID, action string, fields []syncd.FieldChange, outcome, errText string) syncd.Event {
	return run.Event(x.now().UTC(), t, k, remoteID, action, fields, outcome, errText)
}

// scrub removes the resource's secret values from a message: a server may
// echo what it was sent.
func (x *Executor) scrub(msg string, d *syncd.Desired) string {
	if d == nil {
		return msg
	}
	// Cut only: the providers already withheld any platform message that
	// may echo a secret too short to cut (transport.Redact); the rest of
	// the text is syncd's own.
	return syncd.NewScrubber(syncd.SecretValues(d, x.Rules[d.Key.Kind])).Scrub(msg)
}
