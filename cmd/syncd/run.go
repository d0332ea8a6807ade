package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/daemon"
	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/watch"
)

type runCmd struct {
	manifestsFlag
	platformFlags
	databaseFlag
	hmacFlag
	spoolFlag
	notifyFlags
	targetFlag

	Mode             string `name:"mode" enum:"apply,report" default:"report" env:"SYNCD_MODE" help:"apply converges; report records drift and never writes."`
	Schedule         string `name:"schedule" env:"SYNCD_SCHEDULE" default:"@every 5m" help:"Full drift scan schedule (cron syntax or @every DURATION); empty to disable."`
	Listen           string `name:"listen" env:"SYNCD_LISTEN" default:"127.0.0.1:8080" help:"HTTP address for the web console (/), /healthz, /readyz, /metrics and /v1/status; empty to disable. Beyond loopback it needs SYNCD_HTTP_TOKEN. SYNCD_AUDIT_KEY (or SYNCD_AUDIT_KEY_FILE) keys the audit chain; SYNCD_CHECKPOINT_DIR receives its signed heads."`
	Prune            bool   `name:"prune" help:"Delete owned objects whose manifest is gone."`
	MaxDelete        int    `name:"max-delete" help:"Refuse plans deleting more objects than this (default max(5, 10% of the inventory))."`
	AllowMassDelete  bool   `name:"allow-mass-delete" help:"Allow more deletes than --max-delete."`
	NoTestConnectors bool   `name:"no-test-connectors" help:"Do not probe Patchworks connectors after writing them."`
	Once             bool   `name:"once" help:"Run one full reconcile exactly as the daemon does (run record, audit, drift opened/resolved, spool, stuck resources held back), then exit: for cron."`
	DetailedExitcode bool   `name:"detailed-exitcode" help:"With --once: exit 2 when drift or changes remain, 0 when in sync, 1 on error."`
	HTTPMaxConns     int    `name:"http-max-conns" env:"SYNCD_HTTP_MAX_CONNS" help:"Cap on concurrent HTTP connections (default 64; always leaves 256 file descriptors for scans). Listening beyond loopback needs SYNCD_HTTP_TOKEN, a bearer token for everything but /healthz and /readyz."`

	LockTimeout time.Duration `name:"lock-timeout" default:"0s" help:"With --once --mode apply: how long to wait for the apply lock held by a daemon in apply mode or an apply."`
}

func (c *runCmd) Run(ctx context.Context, g *Globals) error {
	log := newLogger(g, os.Stderr)
	if err := c.manifestsFlag.check(); err != nil {
		return err
	}
	notifier, err := c.notifier(log, c.Once, c.Listen, c.DatabaseURL)
	if err != nil {
		return err
	}
	if c.DetailedExitcode && !c.Once {
		return errors.New("--detailed-exitcode needs --once")
	}
	if c.LockTimeout != 0 && !c.Once {
		return errors.New("--lock-timeout needs --once (a daemon in apply mode waits for the lock as a standby)")
	}
	if c.Once {
		return c.once(ctx, log, g.Loader.options())
	}
	if len(c.Target) > 0 {
		return errors.New("--target needs --once: the daemon always reconciles every resource")
	}
	if c.Schedule != "" {
		if _, err := daemon.ValidateSchedule(c.Schedule); err != nil {
			return err
		}
	}
	st, err := openStack(ctx, log, c.platformFlags, c.databaseFlag, c.hmacFlag, c.spoolFlag, !c.NoTestConnectors)
	if err != nil {
		return err
	}
	defer st.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	err = daemon.Run(ctx, daemon.Options{
		ManifestsDir: c.Manifests, Mode: syncd.Mode(c.Mode), Schedule: c.Schedule, Listen: c.Listen, Notifier: notifier,
		Prune: c.Prune, MaxDelete: c.MaxDelete, AllowMassDelete: c.AllowMassDelete,
		DatabaseURL: c.DatabaseURL, Runner: st.Runner, Store: st.Store, Logger: log, Reload: reload,
		Load:      g.Loader.options(),
		HTTPToken: os.Getenv("SYNCD_HTTP_TOKEN"), MaxConns: c.HTTPMaxConns,
	})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// once runs one full reconcile the way the daemon's scheduled scan does
// and turns what remains into the exit code.
func (c *runCmd) once(ctx context.Context, log *slog.Logger, lo desired.Options) error {
	st, err := openStack(ctx, log, c.platformFlags, c.databaseFlag, c.hmacFlag, c.spoolFlag, !c.NoTestConnectors)
	if err != nil {
		return err
	}
	defer st.Close()
	mode := syncd.Mode(c.Mode)
	if mode == syncd.ModeApply {
		// The daemon's writer lock: never write beside a daemon in apply
		// mode or an apply.
		release, err := pglock.AcquireApplyLock(ctx, c.DatabaseURL, c.LockTimeout)
		if err != nil {
			return err
		}
		defer release()
	}
	set, loadErr := desired.Load(c.Manifests, lo)
	if set == nil {
		return loadErr
	}
	printLoadErrors(set)
	scope, err := c.targetFlag.scope(set)
	if err != nil {
		return err
	}
	prune := c.Prune
	if scope != nil && prune {
		fmt.Fprintln(os.Stderr, "syncd: --prune is ignored with --target: a partial run never prunes")
		prune = false
	}
	res, err := st.Runner.Once(ctx, reconcile.Request{
		// Not Manual: run --once is what cron runs, so it holds stuck
		// resources back as the daemon does; syncd apply retries them.
		Trigger: "once", Mode: mode, Set: set, Prune: prune, Scope: scope, Targets: c.Target,
		MaxDelete: c.MaxDelete, AllowMassDelete: c.AllowMassDelete,
		Revision: watch.Revision(c.Manifests),
	})
	if res != nil {
		reconcile.LogDrift(log.With("run_id", res.RunID), res.DriftEvents)
	}
	if err != nil {
		return err
	}
	if res.Executed {
		printReport(res)
	} else if err := planner.WriteText(os.Stdout, res.Plan, useColor(os.Stdout)); err != nil {
		return err
	}
	unplanned := 0
	for _, ch := range res.Plan.Changes {
		if ch.Error != "" {
			unplanned++
		}
	}
	switch {
	case loadErr != nil:
		return &exitError{code: 1, err: errors.New("some manifests failed to load: nothing was deleted or replaced")}
	case unplanned > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d resource(s) could not be planned", unplanned)}
	case res.Report.Failed > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d change(s) failed", res.Report.Failed)}
	}
	if !c.DetailedExitcode {
		return nil
	}
	remaining, err := remains(ctx, st, res, scope)
	if err != nil {
		return err
	}
	if remaining != "" {
		fmt.Fprintln(os.Stderr, remaining)
		return &exitError{code: 2}
	}
	return nil
}

// remains says what is still out of sync after a reconcile ("" when
// nothing is): changes it did not write (report mode, report-only or
// blocked ones), and drift episodes still open (of the scope's resources
// only, when --target limited the run).
func remains(ctx context.Context, st *stack.Stack, res *reconcile.Result, scope []syncd.Key) (string, error) {
	pending := 0
	for _, ch := range res.Plan.Changes {
		if ch.Action != planner.ActionNoop && ch.Error == "" && (!res.Executed || ch.ReportOnly || ch.Blocked != "") {
			pending++
		}
	}
	drifts, err := st.Store.OpenDrifts(ctx)
	if err != nil {
		return "", fmt.Errorf("open drifts: %w", err)
	}
	if scope != nil {
		drifts = slices.DeleteFunc(drifts, func(d audit.Drift) bool { return !slices.Contains(scope, d.Key) })
	}
	if pending == 0 && len(drifts) == 0 {
		return "", nil
	}
	return fmt.Sprintf("Out of sync: %d change(s) not applied, %d open drift(s).", pending, len(drifts)), nil
}
