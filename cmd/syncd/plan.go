package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/watch"
)

type planCmd struct {
	manifestsFlag
	platformFlags
	databaseFlag
	hmacFlag
	targetFlag
	progressFlag

	Format           string `name:"format" enum:"text,json,markdown" default:"text" help:"Output format: text, json or markdown."`
	Out              string `name:"out" type:"path" help:"Also save the plan to FILE for 'syncd apply FILE'."`
	DetailedExitcode bool   `name:"detailed-exitcode" help:"Exit 2 when there are changes (blocked and report-only ones too), 0 when none, 1 on error."`
	Prune            bool   `name:"prune" help:"Plan deletes of owned objects whose manifest is gone."`
	MaxDelete        int    `name:"max-delete" help:"Refuse plans deleting more objects than this (default max(5, 10% of the inventory))."`
	AllowMassDelete  bool   `name:"allow-mass-delete" help:"Allow more deletes than --max-delete."`
	ShowUnmanaged    bool   `name:"show-unmanaged" help:"Also list the live objects no manifest declares, per platform and Make app (from the lists the plan reads anyway: no extra request)."`
	CommentID        string `name:"comment-id" placeholder:"ID" help:"Markdown only: mark the comment <!-- syncd:plan:ID --> instead of <!-- syncd:plan --> (several manifest directories in one repository)."`
}

func (c *planCmd) Run(ctx context.Context, g *Globals) error {
	adjustStartingHeap()
	log := newLogger(g, os.Stderr)
	if c.CommentID != "" && !planner.ValidCommentID(c.CommentID) {
		return fmt.Errorf("--comment-id %q: use letters, digits and . _ / - only", c.CommentID)
	}
	if err := c.manifestsFlag.check(); err != nil {
		return err
	}
	set, loadErr := desired.Load(c.Manifests, g.Loader.options())
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
		fmt.Fprintln(os.Stderr, "syncd: --prune is ignored with --target: a partial plan never prunes")
		prune = false
	}
	// A plan only reads the database: it never migrates and never creates
	// the HMAC key, so a SELECT-only role is enough. Without a database the
	// plan says so in its header (planner.NoInventoryNote).
	rd, err := stack.OpenPlanner(ctx, stack.PlanConfig{
		Platforms: c.platformFlags.config(log), DatabaseURL: c.DatabaseURL, CheckURL: true,
		HMACKey: c.hmacFlag.key(), Logger: log,
	})
	if err != nil {
		return err
	}
	if rd.NoKeyYet && c.Out != "" {
		// Nothing recorded a hash yet, so comparing needs no key; but
		// the apply of a saved plan hashes with the key it creates.
		fmt.Fprintln(os.Stderr, "syncd: the database has no HMAC key yet (run `syncd migrate`, or set SYNCD_HMAC_KEY): apply will refuse this saved plan as stale")
	}
	eng, bindings, noInventory := rd.Engine, rd.Bindings, rd.NoInventory
	prog := startProgress(c.progressFlag, eng.Stats, planEstimate(set, scope), "planning").withETA(eng.Transports())
	defer prog.Stop()
	if err := eng.Preflight(ctx); err != nil {
		return err
	}
	res, err := eng.Plan(ctx, engine.PlanRequest{
		Set: set, Bindings: bindings, NoInventory: noInventory,
		Prune: prune, MaxDelete: c.MaxDelete, AllowMassDelete: c.AllowMassDelete,
		Scope: scope, Targets: c.Target,
	})
	if err != nil {
		return err
	}
	prog.Stop()
	md := planner.MarkdownOptions{CommentID: c.CommentID, ShowUnmanaged: c.ShowUnmanaged}
	for _, e := range set.Errors {
		md.LoadErrors = append(md.LoadErrors, e.Error())
	}
	if c.Format == "json" {
		err = planner.WriteJSONWith(os.Stdout, res.Plan, planner.JSONOptions{ShowUnmanaged: c.ShowUnmanaged})
	} else {
		err = writePlan(os.Stdout, res.Plan, c.Format, md)
	}
	if err == nil && c.ShowUnmanaged && c.Format == "text" {
		err = planner.WriteUnmanagedText(os.Stdout, res.Plan)
	}
	if err != nil {
		return err
	}
	if c.Out != "" {
		if err := savePlan(c.Out, c.Manifests, res.Plan, set, prune); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "Saved the plan to %s; apply it with: syncd apply %s\n", c.Out, c.Out)
	}
	if loadErr != nil {
		return &exitError{code: 1, err: errors.New("some manifests failed to load: the plan above has no delete and no replace")}
	}
	if planErrors(res.Plan) > 0 {
		// The plan text already ends with "Error: N resource(s) could not
		// be planned."; CI must not read that as "no changes".
		return &exitError{code: 1}
	}
	if c.DetailedExitcode && res.Plan.Pending() {
		return &exitError{code: 2}
	}
	return nil
}

// planErrors counts the resources that could not be planned.
func planErrors(p *planner.Plan) int {
	n := 0
	for i := range p.Changes {
		if p.Changes[i].Error != "" {
			n++
		}
	}
	return n
}

func printLoadErrors(set *desired.Set) {
	for _, e := range set.Errors {
		fmt.Fprintln(os.Stderr, e.Error())
	}
}

func writePlan(f *os.File, p *planner.Plan, format string, md planner.MarkdownOptions) error {
	switch format {
	case "json":
		return planner.WriteJSON(f, p)
	case "markdown":
		return planner.WriteMarkdown(f, p, md)
	}
	return planner.WriteText(f, p, useColor(f))
}

func savePlan(path, dir string, p *planner.Plan, set *desired.Set, prune bool) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	werr := planner.WritePlanFile(f, p, planner.PlanFileMeta{ManifestsDigest: set.Digest, ManifestRevision: watch.Revision(dir), Prune: prune, CreatedAt: nowUTC()})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("save plan: %w", werr)
	}
	return os.Rename(tmp, path)
}
