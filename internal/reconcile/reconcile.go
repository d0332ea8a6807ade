package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/syncd"
)

// Books is what a run needs of the audit log (audit.Store satisfies it):
// the run's record and events, the drift lifecycle and the signed head of
// the audit chain.
type Books interface {
	executor.Recorder
	StartRun(ctx context.Context, r syncd.RunRecord) error
	FinishRun(ctx context.Context, r syncd.RunRecord) error
	// ObserveDrift feeds the drift lifecycle and returns the events it
	// recorded; spooled says the scan waits for the database.
	ObserveDrift(ctx context.Context, scan audit.DriftScan) (events []syncd.Event, spooled bool, err error)
	// WriteCheckpoint writes the signed head of the audit chain; ok is
	// false when no checkpoint is configured.
	WriteCheckpoint(ctx context.Context) (cp audit.Checkpoint, ok bool, err error)
	// ChangeAttempts and SetChangeAttempts keep the failure history that
	// makes a resource stuck (StuckAfter) across processes; nil forgets.
	ChangeAttempts(ctx context.Context) (map[syncd.Key]audit.ChangeAttempts, error)
	SetChangeAttempts(ctx context.Context, k syncd.Key, a *audit.ChangeAttempts) error
}

// Inventory is what a run reads of the state store (state.Store
// satisfies it): the inventory to plan against.
type Inventory interface {
	Bindings(ctx context.Context) (map[syncd.Key]syncd.Binding, error)
}

// Runner carries out reconciles.
type Runner struct {
	Engine   *engine.Engine
	Executor *executor.Executor
	Store    Books
	State    Inventory
	Logger   *slog.Logger
	Actor    string
	Now      func() time.Time

	mu           sync.Mutex
	lastBindings map[syncd.Key]syncd.Binding // the inventory as last read
	attempts     map[syncd.Key]*attempts     // failed attempts in a row, per resource
	unsaved      map[syncd.Key]bool          // attempts not yet written to Store
}

func (r *Runner) cachedBindings() map[syncd.Key]syncd.Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastBindings
}

// Request is one reconcile's input.
type Request struct {
	Trigger string     // cli, watch, schedule, signal, startup
	Mode    syncd.Mode // ModeApply or ModeReport
	Set     *desired.Set
	// Scope limits the reconcile to these resources (nil: all). Drift is
	// recorded for the scanned resources only.
	Scope []syncd.Key
	// Targets are the --target patterns Scope came from: the plan says it
	// is partial (planner.Plan.Targets).
	Targets         []string
	Prune           bool
	MaxDelete       int
	AllowMassDelete bool
	Revision        string
	// Approve is asked, in apply mode, before anything is written; nil approves.
	Approve func(*planner.Plan) bool
	// Plan, when set, restricts execution to the changes of a saved plan;
	// see ApplySaved.
	Saved *SavedPlan
	// Manual marks a run a person asked for (syncd apply): it retries
	// stuck resources too. The daemon's own runs and syncd run --once
	// (cron's) leave a stuck resource alone until its manifest or live
	// state changes (see StuckAfter).
	Manual bool
}

// Result is what a reconcile did.
type Result struct {
	RunID    string
	Plan     *planner.Plan
	Report   executor.Report
	Executed bool
	// Cancelled: Approve declined a plan with changes; nothing was written.
	Cancelled bool
	Refused   []string // saved-plan changes refused as stale
	// DriftEvents are the drift episodes this run opened or resolved
	// (drift_detected, drift_resolved), for the caller to log.
	DriftEvents []syncd.Event
	Requests    []platform.Stats
}

func (r *Runner) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Once runs one reconcile. The returned error is about the run itself
// (audit unavailable, platform unreachable); per-resource failures are in
// Result.Report.
func (r *Runner) Once(ctx context.Context, req Request) (*Result, error) {
	run := syncd.NewRun(req.Mode, r.Actor, req.Revision)
	log := r.log().With("run_id", run.ID)
	res := &Result{RunID: run.ID}
	started := r.now().UTC()
	// The run's record is written even when ctx is cancelled mid-way.
	after := context.WithoutCancel(ctx)

	if err := r.Store.StartRun(ctx, syncd.RunRecord{Run: run, Trigger: req.Trigger, StartedAt: started}); err != nil {
		log.Warn("record run start", "error", err)
	}
	if err := r.record(ctx, run, syncd.EventRunStarted, syncd.Key{}, "", "", nil, "started", ""); err != nil {
		return nil, fmt.Errorf("audit unavailable: %w", err)
	}
	runErr := r.once(ctx, log, run, req, res)

	outcome, errText := "ok", ""
	switch {
	case runErr != nil:
		outcome, errText = "error", runErr.Error()
	case res.Report.Failed > 0:
		outcome = "failed"
	case res.Cancelled:
		outcome = "cancelled"
	case len(req.Set.Errors) > 0:
		outcome = "manifest_invalid"
	}
	var summary any
	if res.Plan != nil {
		summary = res.Plan.Summary
	}
	if err := r.record(after, run, syncd.EventRunFinished, syncd.Key{}, "", "", nil, outcome, errText); err != nil {
		log.Error("record run finish", "error", err)
	}
	if err := r.Store.FinishRun(after, syncd.RunRecord{
		Run: run, Trigger: req.Trigger, StartedAt: started, FinishedAt: r.now().UTC(),
		Summary: summary, Requests: requestsJSON(res.Requests), Outcome: outcome, Error: errText,
	}); err != nil {
		log.Warn("record run finish", "error", err)
	}
	attrs := []any{"trigger", req.Trigger, "mode", string(req.Mode), "outcome", outcome,
		"applied", res.Report.Applied, "failed", res.Report.Failed}
	// A signed head of the audit chain, outside the database: in the
	// checkpoint directory and in this log line.
	if cp, ok, err := r.Store.WriteCheckpoint(after); err != nil {
		log.Warn("audit checkpoint not written", "error", err)
	} else if ok {
		attrs = append(attrs, "audit_checkpoint", cp.String())
	}
	log.Info("run finished", attrs...)
	return res, runErr
}

func (r *Runner) once(ctx context.Context, log *slog.Logger, run syncd.Run, req Request, res *Result) error {
	for _, e := range req.Set.Errors {
		if err := r.record(ctx, run, syncd.EventManifestInvalid, syncd.Key{}, "", "", nil, "invalid", e.Error()); err != nil {
			return fmt.Errorf("audit unavailable: %w", err)
		}
	}
	// A misconfigured platform (wrong base URL, rejected token) fails the
	// run before anything is planned: never "create everything".
	if err := r.Engine.Preflight(ctx); err != nil {
		return err
	}
	apply := req.Mode == syncd.ModeApply
	if apply {
		loaded := make(map[syncd.Key]*syncd.Desired, len(req.Set.Resources))
		for _, d := range req.Set.Resources {
			loaded[d.Key] = d
		}
		if err := r.Executor.RecoverFor(ctx, run, loaded); err != nil {
			// Unresolved intents block nothing by themselves: the plan
			// still matches by natural key and reports ambiguity.
			log.Warn("recover pending creates", "error", err)
		}
	}
	prune := req.Prune
	bindings, err := r.State.Bindings(ctx)
	switch {
	case err == nil:
		r.mu.Lock()
		r.lastBindings = bindings
		r.mu.Unlock()
	case errors.Is(err, state.ErrUnavailable) && r.cachedBindings() != nil:
		// PostgreSQL is down: plan from the inventory last read, so that
		// drift is still reverted (events spool). No prune, and creates
		// are refused by the executor until intents can be journalled.
		log.Warn("database unreachable: planning from the last inventory read; no creates or deletes until it is back", "error", err)
		bindings, prune = r.cachedBindings(), false
	default:
		return fmt.Errorf("read inventory: %w", err)
	}
	pr, err := r.Engine.Plan(ctx, engine.PlanRequest{
		Set: req.Set, Bindings: bindings, Scope: req.Scope, Targets: req.Targets,
		Prune: prune, MaxDelete: req.MaxDelete, AllowMassDelete: req.AllowMassDelete,
	})
	if err != nil {
		return err
	}
	res.Plan, res.Requests = pr.Plan, pr.Requests
	if err := r.recordDrift(ctx, run, req, res); err != nil {
		if !errors.Is(err, audit.ErrUnavailable) {
			return err
		}
		log.Warn("drift not recorded: database unreachable", "error", err)
	}
	if apply && req.Saved != nil {
		res.Refused = req.Saved.restrict(pr.Plan)
		pr.Plan.Summary = planner.Summarize(pr.Plan.Changes)
	}
	execPlan := pr.Plan
	var hold map[syncd.Key]bool
	if apply {
		if hold = r.holdStuck(ctx, run, req, pr.Plan); len(hold) > 0 {
			// The plan shown is unchanged; only execution leaves them out.
			execPlan = &planner.Plan{Summary: pr.Plan.Summary, LoadFailed: pr.Plan.LoadFailed, Changes: slices.Clone(pr.Plan.Changes)}
			for i := range execPlan.Changes {
				if c := &execPlan.Changes[i]; hold[c.Key] {
					c.Blocked = "stuck: not retried until its manifest or live state changes, or on a manual apply"
				}
			}
		}
	}
	execute := apply && execPlan.HasChanges()
	if execute && req.Approve != nil && !req.Approve(pr.Plan) {
		execute, res.Cancelled = false, true
	}
	// The audit gets the whole plan: what will not be written is recorded
	// here (the executor records what it writes, before writing it).
	for _, c := range pr.Plan.Changes {
		if c.Action == planner.ActionNoop && c.Error == "" || hold[c.Key] {
			continue // a stuck resource was recorded once, when it got stuck
		}
		outcome := "planned"
		switch {
		case c.Error != "":
			outcome = "error"
		case c.Blocked != "":
			outcome = "blocked"
		case c.ReportOnly || !apply:
			outcome = "report_only"
		case execute:
			continue // the executor's own change_planned
		}
		if err := r.record(ctx, run, syncd.EventChangePlanned, c.Key, c.RemoteID, string(c.Action), c.Fields, outcome, firstOf(c.Error, c.Blocked)); err != nil {
			return fmt.Errorf("audit unavailable: %w", err)
		}
	}
	if !execute {
		return nil
	}
	desiredBy := make(map[syncd.Key]*syncd.Desired, len(req.Set.Resources))
	for _, d := range req.Set.Resources {
		desiredBy[d.Key] = d
	}
	res.Report = r.Executor.Apply(ctx, run, execPlan, desiredBy)
	for _, x := range res.Report.Results {
		if x.DriftResolved != nil {
			res.DriftEvents = append(res.DriftEvents, *x.DriftResolved)
		}
	}
	res.Executed = true
	r.countAttempts(context.WithoutCancel(ctx), run, execPlan, res.Report)
	// Keep the cached inventory current for a later outage.
	if b, err := r.State.Bindings(context.WithoutCancel(ctx)); err == nil {
		r.mu.Lock()
		r.lastBindings = b
		r.mu.Unlock()
	}
	return nil
}

// recordDrift feeds the drift lifecycle. Every existing object that was
// planned without error was scanned; those whose live state differs from
// their manifest have drifted — whether syncd wrote them before or they are
// about to be adopted, git is the truth, as in Argo CD's OutOfSync.
func (r *Runner) recordDrift(ctx context.Context, run syncd.Run, req Request, res *Result) error {
	p := res.Plan
	scan := audit.DriftScan{Run: run,
		Drifted: map[syncd.Key]audit.DriftObservation{}, DesiredHashes: map[syncd.Key]string{}}
	for _, c := range p.Changes {
		if c.RemoteID == "" || c.Error != "" || c.Action == planner.ActionDelete || c.Action == planner.ActionCreate {
			continue
		}
		scan.Scanned = append(scan.Scanned, c.Key)
		// Lets the store tell a drift fixed by a manifest change from one
		// reverted on the platform.
		scan.DesiredHashes[c.Key] = c.DesiredHash
		if Drifted(c) {
			scan.Drifted[c.Key] = audit.DriftObservation{RemoteID: c.RemoteID, Fields: c.Fields, DesiredHash: c.DesiredHash}
		}
	}
	if len(scan.Scanned) == 0 {
		return nil
	}
	scan.ObservedAt = r.now()
	events, spooled, err := r.Store.ObserveDrift(ctx, scan)
	if err != nil {
		return fmt.Errorf("record drift: %w", err)
	}
	if spooled {
		r.log().Warn("database unreachable: drift observations spooled with their time; written when it is back", "run_id", run.ID)
	}
	res.DriftEvents = events
	return nil
}

// LogDrift logs each drift episode a run opened or resolved: the resource,
// its remote id and the field paths, never a value (secret or not).
func LogDrift(log *slog.Logger, events []syncd.Event) {
	for _, e := range events {
		paths := make([]string, len(e.Changes))
		for i, f := range e.Changes {
			paths[i] = f.Path
		}
		attrs := []any{"resource", syncd.Key{Kind: e.Kind, Name: e.Name}.String(), "remote_id", e.RemoteID, "fields", paths}
		switch e.Type {
		case syncd.EventDriftDetected:
			log.Warn("drift opened", attrs...)
		case syncd.EventDriftResolved:
			log.Info("drift resolved", append(attrs, "how", e.Outcome)...)
		}
	}
}

// Drifted reports whether an existing object differs from its manifest.
func Drifted(c planner.Change) bool {
	switch c.Action {
	case planner.ActionUpdate, planner.ActionReplace, planner.ActionAdopt:
		return len(c.Fields) > 0
	}
	return false
}

func (r *Runner) record(ctx context.Context, run syncd.Run, t syncd.EventType, k syncd.Key, remoteID, action string, fields []syncd.FieldChange, outcome, errText string) error {
	return r.Store.Record(ctx, run.Event(r.now().UTC(), t, k, remoteID, action, fields, outcome, errText))
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func requestsJSON(stats []platform.Stats) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, s := range stats {
		m := map[string]int64{}
		for code, n := range s.ByStatus {
			m[fmt.Sprint(code)] = n
		}
		out[s.Platform] = m
	}
	return out
}
