package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/watch"
)

// Options configure the daemon.
type Options struct {
	ManifestsDir    string
	Mode            syncd.Mode // ModeApply or ModeReport
	Schedule        string     // cron spec or @every; "" = no scheduled scans
	Listen          string     // HTTP address; "" = no HTTP
	Prune           bool
	MaxDelete       int
	AllowMassDelete bool
	// DatabaseURL is used for leader election; "" makes this replica the
	// leader unconditionally (single-replica use without PostgreSQL locks).
	DatabaseURL string
	Runner      *reconcile.Runner
	Store       *audit.Store
	Logger      *slog.Logger
	Notifier    Notifier // sends notifications (notify.go); nil: none
	// Reload receives a value on SIGHUP: reload manifests and reconcile now.
	Reload <-chan struct{}
	// Ready, when set, is called once with the HTTP address actually bound.
	Ready func(addr string)
	// Watch tunes the file watcher (zero values use its defaults).
	Watch watch.Options
	// StepTimeout bounds one reconcile, including the one finished after
	// shutdown begins. Default 10m.
	StepTimeout time.Duration
	// LeaderInterval is how often the lock is tried or checked. Default 2s.
	LeaderInterval time.Duration
	// Getenv resolves ${env:} references (nil: the process environment).
	Getenv func(string) (string, bool)
	// Load bounds what loading the manifests may read (secret directories,
	// size limits); its Getenv, when nil, is the one above.
	Load desired.Options
	// HTTPToken is the bearer token every HTTP path but /healthz and
	// /readyz requires; it must be set when Listen is beyond loopback.
	HTTPToken string
	// MaxConns caps concurrent HTTP connections (default DefaultMaxConns,
	// and never so many that fewer than FDReserve descriptors remain).
	MaxConns int
}

// ValidateSchedule parses a cron spec without letting robfig/cron panic.
func ValidateSchedule(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("schedule %q: %v", spec, r)
		}
	}()
	s, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	// cron rounds any @every below a second, negative ones included, up to
	// one second: a typo would silently scan every second.
	if _, ok := s.(cron.ConstantDelaySchedule); ok {
		_, text, _ := strings.Cut(spec, "@every")
		if d, derr := time.ParseDuration(strings.TrimSpace(text)); derr == nil && d < time.Second {
			return nil, fmt.Errorf("schedule %q: @every needs a duration of at least 1s", spec)
		}
	}
	return s, nil
}

// trigger is a pending reason to reconcile; triggers merge while a
// reconcile is running.
type trigger struct {
	reason string
	full   bool
	paths  map[string]bool
}

func (t *trigger) merge(o trigger) {
	if t.reason == "" || o.full {
		t.reason = o.reason
	}
	t.full = t.full || o.full
	if t.paths == nil {
		t.paths = map[string]bool{}
	}
	for p := range o.paths {
		t.paths[p] = true
	}
}

// Daemon is a running `syncd run`.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	leader  *leader

	mu       sync.Mutex
	pending  *trigger
	wake     chan struct{}
	lastGood *desired.Set
	hashes   hashed // of lastGood's resources
	status   Status
	ready    bool
	// schedule is opts.Schedule parsed (nil: none); lastScan are the
	// reads of the last full scan per platform (pacing.go).
	schedule cron.Schedule
	lastScan map[string]int64
	// loaded is the last Set loaded (errors or not), the base of the next
	// Reload; lastHashed are the hashes of the last resources planned,
	// which a Reload keeps for every manifest it did not read again
	// (reload.go).
	loaded     *desired.Set
	lastHashed hashed
	console    consoleState
}

// Status is what /v1/status serves.
type Status struct {
	Leader     bool             `json:"leader"`
	Mode       syncd.Mode       `json:"mode"`
	LastRun    *RunStatus       `json:"last_run"`
	Summary    *planner.Summary `json:"plan_summary"`
	OpenDrifts []DriftStatus    `json:"open_drifts"`
	// Stuck are resources this daemon no longer retries (reconcile.StuckAfter).
	Stuck []reconcile.Stuck `json:"stuck"`
	// Coverage counts, at the last full scan, the listed live objects
	// declared by a manifest and the others (planner.Coverage).
	Coverage    *CoverageStatus `json:"coverage"`
	SpoolDepth  int             `json:"spool_depth"`
	LastSuccess *time.Time      `json:"last_successful_scan"`
	// FullScan is the last full scan's reads and how long they take at
	// the current quota share (null before the first full scan).
	FullScan *FullScan `json:"full_scan"`
}

// RunStatus describes the last reconcile.
type RunStatus struct {
	ID         string    `json:"id"`
	Trigger    string    `json:"trigger"`
	Mode       string    `json:"mode"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
	Applied    int       `json:"applied"`
	Failed     int       `json:"failed"`
	Scope      int       `json:"scope"` // resources planned; 0 = all
}

// DriftStatus is one open drift.
type DriftStatus struct {
	Resource  string    `json:"resource"`
	RemoteID  string    `json:"remote_id"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Fields    []string  `json:"fields"`
}

// Run runs the daemon until ctx is cancelled; it then finishes the
// reconcile in flight, flushes the audit and returns nil.
func Run(ctx context.Context, opts Options) error {
	d, err := New(opts)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// New checks opts and builds a daemon.
func New(opts Options) (*Daemon, error) {
	if opts.Mode != syncd.ModeApply && opts.Mode != syncd.ModeReport {
		return nil, fmt.Errorf("mode %q: want apply or report", opts.Mode)
	}
	if opts.Schedule != "" {
		if _, err := ValidateSchedule(opts.Schedule); err != nil {
			return nil, err
		}
	}
	if opts.Listen != "" {
		if err := checkListen(opts.Listen, opts.HTTPToken); err != nil {
			return nil, err
		}
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = 10 * time.Minute
	}
	if opts.Watch.Resync == 0 {
		opts.Watch.Resync = watch.DefaultResync
	}
	if opts.LeaderInterval <= 0 {
		opts.LeaderInterval = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{opts: opts, log: log, wake: make(chan struct{}, 1), metrics: newMetrics()}
	if opts.Schedule != "" {
		d.schedule, _ = ValidateSchedule(opts.Schedule)
	}
	if opts.Runner != nil && opts.Runner.Engine != nil {
		d.metrics.requests.stats = opts.Runner.Engine.Stats
	}
	d.status.Mode = opts.Mode
	d.leader = &leader{dsn: opts.DatabaseURL, interval: opts.LeaderInterval, log: log, onChange: func(v bool) {
		d.metrics.leader.Set(b2f(v))
		if v && opts.Mode == syncd.ModeApply {
			// A replica taking over converges now rather than at the next
			// schedule; at start this merges into the startup reconcile.
			d.enqueue(trigger{reason: "leader", full: true})
		}
	}}
	return d, nil
}

// IsLeader reports whether this replica may apply.
func (d *Daemon) IsLeader() bool {
	return d.opts.DatabaseURL == "" || d.leader.IsLeader()
}

func (d *Daemon) enqueue(t trigger) {
	d.mu.Lock()
	if d.pending == nil {
		d.pending = &trigger{}
	}
	d.pending.merge(t)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Daemon) take() *trigger {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.pending
	d.pending = nil
	return t
}

// Run is the daemon's main loop.
func (d *Daemon) Run(ctx context.Context) error {
	w, err := watch.New(d.opts.ManifestsDir, d.opts.Watch)
	if err != nil {
		return fmt.Errorf("watch %s: %w", d.opts.ManifestsDir, err)
	}
	var srv *http.Server
	var bound string // the HTTP address, for the notifier's links
	if d.opts.Listen != "" {
		ln, err := net.Listen("tcp", d.opts.Listen)
		if err != nil {
			w.Close()
			return fmt.Errorf("listen %s: %w", d.opts.Listen, err)
		}
		srv = newHTTPServer(requireToken(d.opts.HTTPToken, d.handler()))
		conns := maxConns(d.opts.MaxConns, nofileLimit())
		limited := newLimitListener(ln, conns)
		go func() {
			if err := srv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("http server", "error", err)
			}
		}()
		d.log.Info("serving", "addr", ln.Addr().String(), "max_connections", conns, "token", d.opts.HTTPToken != "")
		if d.opts.Ready != nil {
			d.opts.Ready(ln.Addr().String())
		}
		bound = ln.Addr().String()
	}

	// The background work (watcher, lock holder) outlives ctx until the
	// step in flight has finished: releasing the lock at cancellation
	// would let another replica apply while this one still writes.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if d.opts.DatabaseURL != "" && d.opts.Mode == syncd.ModeApply {
		// Only an applier contends: a report-only daemon must not keep
		// `syncd apply` (which takes the same lock) from running.
		// One attempt before the first reconcile, so that a replica that
		// can lead applies in its startup run instead of reporting.
		d.leader.attempt(bg)
		wg.Go(func() { d.leader.run(bg) })
	}
	d.startNotifier(bg, &wg, bound)
	changes := make(chan watch.Change)
	wg.Go(func() {
		if err := w.Run(bg, changes); err != nil && bg.Err() == nil {
			d.log.Error("watcher stopped", "error", err)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-bg.Done():
				return
			case c := <-changes:
				t := trigger{reason: "watch", full: c.Full, paths: map[string]bool{}}
				for _, p := range c.Paths {
					t.paths[p] = true
				}
				d.enqueue(t)
			case <-d.opts.Reload:
				d.log.Info("SIGHUP: reloading manifests")
				d.enqueue(trigger{reason: "signal", full: true})
			}
		}
	})
	var sched *cron.Cron
	if d.opts.Schedule != "" {
		// SkipIfStillRunning outermost, Recover innermost (LIBRARY-NOTES).
		sched = cron.New(cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger), cron.Recover(cron.DiscardLogger)))
		if _, err := sched.AddFunc(d.opts.Schedule, func() { d.enqueue(trigger{reason: "schedule", full: true}) }); err != nil {
			stopBG()
			return fmt.Errorf("schedule %q: %w", d.opts.Schedule, err)
		}
		sched.Start()
	}

	d.enqueue(trigger{reason: "startup", full: true})
	for {
		select {
		case <-ctx.Done():
		case <-d.wake:
			// select picks at random among ready cases: a trigger queued
			// during the last step must not start a new one after shutdown
			// began.
			if ctx.Err() != nil {
				break
			}
			if t := d.take(); t != nil {
				d.step(ctx, *t)
			}
			continue
		}
		break
	}
	d.log.Info("shutting down")
	if sched != nil {
		<-sched.Stop().Done()
	}
	stopBG()
	wg.Wait()
	if d.opts.Store != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := d.opts.Store.Flush(fctx); err != nil {
			d.log.Warn("audit flush at shutdown", "error", err, "spooled", d.opts.Store.SpoolDepth())
		}
		cancel()
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	return nil
}

// step runs one reconcile for a (merged) trigger. It runs to completion on
// its own deadline even if shutdown begins meanwhile: the step in flight is
// finished, not abandoned half-written.
func (d *Daemon) step(parent context.Context, t trigger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), d.opts.StepTimeout)
	defer cancel()
	log := d.log
	// The revision (git, a process or two) is found while the manifests
	// load; the run and the console record the same one.
	revCh := make(chan string, 1)
	go func() { revCh <- watch.Revision(d.opts.ManifestsDir) }()
	revision := sync.OnceValue(func() string { return <-revCh })
	set := d.load(t)
	if set == nil {
		log.Error("manifests unreadable", "dir", d.opts.ManifestsDir)
		return
	}
	for _, e := range set.Errors {
		if e.Line == 0 && resourceText(e.Msg) {
			// Out of descriptors or memory: nothing is known to be wrong
			// with the manifests, so this is a failed run, not a
			// manifest_invalid, and the last good state stays.
			runID := d.opts.Runner.Failed(ctx, t.reason, d.opts.Mode, revision(),
				fmt.Errorf("scan failed for lack of resources: %s", e.Error()))
			log.Error("scan failed for lack of resources; not a manifest problem", "run_id", runID, "error", e.Error())
			d.metrics.observeRun(t.reason, "error", 0)
			d.mu.Lock()
			d.status.LastRun = &RunStatus{ID: runID, Trigger: t.reason, Mode: string(d.opts.Mode), StartedAt: time.Now().UTC(),
				FinishedAt: time.Now().UTC(), Outcome: "error", Error: "scan failed for lack of resources"}
			d.mu.Unlock()
			return
		}
	}
	use := set
	if len(set.Errors) > 0 {
		// Keep the last good desired state; the run records the errors
		// and plans no delete or replace.
		if d.lastGood != nil {
			use = &desired.Set{Resources: d.lastGood.Resources, Files: d.lastGood.Files, Digest: d.lastGood.Digest, Errors: set.Errors}
		}
	}
	hashes := d.desiredHashes(use)
	var scope []syncd.Key
	if !t.full && d.hashes.hash != nil && len(set.Errors) == 0 {
		var removed bool
		scope, removed = changedSince(d.hashes, hashes)
		if removed {
			scope = nil // a manifest went away: a full plan decides on deletes
		} else if len(scope) == 0 {
			log.Debug("change without effect on any resource", "paths", len(t.paths))
			return
		}
	}
	mode := d.opts.Mode
	if mode == syncd.ModeApply && !d.IsLeader() {
		mode = syncd.ModeReport
	}
	started := time.Now()
	res, err := d.opts.Runner.Once(d.withSpread(ctx, t), reconcile.Request{
		Trigger: t.reason, Mode: mode, Set: use, Scope: scope,
		Prune: d.opts.Prune && scope == nil, MaxDelete: d.opts.MaxDelete, AllowMassDelete: d.opts.AllowMassDelete,
		Revision: revision(),
	})
	elapsed := time.Since(started)
	if res != nil {
		log = log.With("run_id", res.RunID)
		reconcile.LogDrift(log, res.DriftEvents)
	}
	for _, e := range set.Errors {
		log.Warn("manifest invalid", "error", e.Error())
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
		log.Error("reconcile failed", "trigger", t.reason, "error", err)
	} else if res.Report.Failed > 0 {
		outcome = "failed"
	}
	d.metrics.observeRun(t.reason, outcome, elapsed)
	if err == nil && len(set.Errors) == 0 {
		d.lastGood = set
		d.hashes = hashes
	}
	if err == nil && scope == nil && res != nil {
		d.noteFullScan(res.Requests)
	}
	d.refreshStatus(ctx, t, mode, started, elapsed, res, err, scope)
	d.noteConsole(res, set, use, revision())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
