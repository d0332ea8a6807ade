package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/pglock"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/reconcile"
	"github.com/syncd/syncd/internal/syncd"
	"github.com/syncd/syncd/internal/watch"
)

type applyCmd struct {
	manifestsFlag
	platformFlags
	databaseFlag
	hmacFlag
	spoolFlag
	targetFlag
	progressFlag

	AutoApprove      bool          `name:"auto-approve" help:"Apply without asking (required without a terminal)."`
	Prune            bool          `name:"prune" help:"Delete owned objects whose manifest is gone."`
	MaxDelete        int           `name:"max-delete" help:"Refuse plans deleting more objects than this (default max(5, 10% of the inventory))."`
	AllowMassDelete  bool          `name:"allow-mass-delete" help:"Allow more deletes than --max-delete."`
	RequireFresh     bool          `name:"require-fresh" help:"With a plan file: refuse the whole plan when any object in it went stale."`
	NoTestConnectors bool          `name:"no-test-connectors" help:"Do not probe Patchworks connectors after writing them."`
	LockTimeout      time.Duration `name:"lock-timeout" default:"0s" help:"How long to wait for the apply lock held by a daemon in apply mode or another apply."`
	PlanFile         string        `arg:"" optional:"" name:"PLANFILE" type:"existingfile" help:"A plan saved by 'syncd plan --out'; apply exactly that plan."`
}

func (c *applyCmd) Run(ctx context.Context, g *Globals) error {
	adjustStartingHeap()
	log := newLogger(g, os.Stderr)
	if err := c.manifestsFlag.check(); err != nil {
		return err
	}
	var saved *reconcile.SavedPlan
	prune := c.Prune
	targets := c.Target
	if c.PlanFile != "" {
		if len(targets) > 0 {
			return errors.New("--target cannot be combined with a plan file: the plan file carries its own targets")
		}
		f, err := os.Open(c.PlanFile)
		if err != nil {
			return err
		}
		p, meta, err := planner.ReadPlanFile(f, registry.Kinds())
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", c.PlanFile, err)
		}
		saved = &reconcile.SavedPlan{Plan: p, RequireFresh: c.RequireFresh}
		prune = meta.Prune
		targets = p.Targets
	}
	st, err := openStack(ctx, log, c.platformFlags, c.databaseFlag, c.hmacFlag, c.spoolFlag, !c.NoTestConnectors)
	if err != nil {
		return err
	}
	defer st.Close()
	release, err := pglock.AcquireApplyLock(ctx, c.DatabaseURL, c.LockTimeout)
	if err != nil {
		return err
	}
	defer release()

	set, loadErr := desired.Load(c.Manifests, g.Loader.options())
	if set == nil {
		return loadErr
	}
	printLoadErrors(set)
	scope, err := targetFlag{Target: targets}.scope(set)
	if err != nil {
		return err
	}
	if scope != nil && prune {
		fmt.Fprintln(os.Stderr, "syncd: --prune is ignored with --target: a partial apply never prunes")
		prune = false
	}
	prog := startProgress(c.progressFlag, st.Runner.Engine.Stats, planEstimate(set, scope), "planning").withETA(st.Runner.Engine.Transports())
	defer prog.Stop()
	if prog != nil {
		st.Runner.Executor.Done = prog.changeDone
	}
	approve := func(p *planner.Plan) bool {
		prog.setPhase("", nil) // not while the plan is shown or a person answers
		ok := c.approve(ctx, p, saved != nil)
		if ok {
			prog.applying(p.Summary.Create + p.Summary.Update + p.Summary.Replace + p.Summary.Delete + p.Summary.Adopt)
		}
		return ok
	}
	res, err := st.Runner.Once(ctx, reconcile.Request{
		Trigger: "cli", Mode: syncd.ModeApply, Set: set, Prune: prune, Scope: scope, Targets: targets,
		MaxDelete: c.MaxDelete, AllowMassDelete: c.AllowMassDelete,
		Revision: watch.Revision(c.Manifests), Approve: approve, Saved: saved,
		Manual: true, // a person asked: stuck resources are retried too
	})
	prog.Stop()
	if err != nil {
		return err
	}
	for _, r := range res.Refused {
		fmt.Fprintf(os.Stderr, "refused (stale): %s\n", r)
	}
	if !res.Plan.HasChanges() && !res.Executed {
		planner.WriteText(os.Stdout, res.Plan, useColor(os.Stdout))
	}
	if res.Executed {
		printReport(res)
	} else if res.Plan.HasChanges() {
		return &exitError{code: 1, err: errors.New("apply cancelled")}
	}
	switch {
	case loadErr != nil:
		return &exitError{code: 1, err: errors.New("some manifests failed to load: nothing was deleted or replaced")}
	case res.Report.Failed > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d change(s) failed", res.Report.Failed)}
	case len(res.Refused) > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d change(s) refused as stale", len(res.Refused))}
	}
	return nil
}

// approve shows the plan and asks, on a terminal, whether to apply it.
func (c *applyCmd) approve(ctx context.Context, p *planner.Plan, saved bool) bool {
	if err := planner.WriteText(os.Stdout, p, useColor(os.Stdout)); err != nil {
		return false
	}
	if c.AutoApprove || saved {
		return true
	}
	if !isTerminal(os.Stdin) {
		fmt.Fprintln(os.Stderr, "syncd: standard input is not a terminal, so nobody can confirm: pass --auto-approve to apply without confirmation")
		return false
	}
	return confirm(ctx, os.Stdin, os.Stdout, "Do you want to perform these actions?")
}

func printReport(res *reconcile.Result) {
	for _, r := range res.Report.Results {
		line := fmt.Sprintf("%-8s %s %s", r.Outcome, r.Action, r.Key)
		if r.RemoteID != "" {
			line += " (" + r.RemoteID + ")"
		}
		if r.Err != nil {
			line += ": " + r.Err.Error()
		}
		fmt.Println(line)
	}
	rep := res.Report
	fmt.Printf("\nApply complete: %d applied, %d failed, %d skipped, %d blocked. Run %s.\n",
		rep.Applied, rep.Failed, rep.Skipped, rep.Blocked, res.RunID)
}
