package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/stack"
	"github.com/syncd/syncd/internal/syncd"
)

// driftGroup is `syncd drift` (list open drifts, the default) and
// `syncd drift accept`.
type driftGroup struct {
	Show   driftCmd       `cmd:"" default:"withargs" help:"List open drifts from the audit store (the default: syncd drift [--format F] [--detailed-exitcode])."`
	Accept driftAcceptCmd `cmd:"" help:"Write the live values of a resource's drifted fields into its manifest (git follows the platform); never a secret."`
}

type driftAcceptCmd struct {
	manifestsFlag
	platformFlags
	databaseFlag
	hmacFlag

	Resource string   `arg:"" name:"KIND/NAME" help:"The drifted resource."`
	Field    []string `name:"field" placeholder:"PATH" help:"Only this field (a JSON pointer into spec as plans show it, e.g. /label or /sections/api/url) and what is under it; repeatable. Default: every drifted field."`
	DryRun   bool     `name:"dry-run" help:"Show the diff of the files instead of writing them."`

	out io.Writer `kong:"-"`
}

func (c *driftAcceptCmd) Run(ctx context.Context, g *Globals) error {
	log := newLogger(g, os.Stderr)
	w := writerOr(c.out)
	key, err := parseKey(c.Resource)
	if err != nil {
		return err
	}
	for _, f := range c.Field {
		if !strings.HasPrefix(f, "/") {
			return fmt.Errorf("--field %q: want a JSON pointer into spec, e.g. /label", f)
		}
	}
	if err := c.manifestsFlag.check(); err != nil {
		return err
	}
	set, loadErr := desired.Load(c.Manifests, g.Loader.options())
	if set == nil || loadErr != nil {
		if set != nil {
			printLoadErrors(set)
		}
		return errors.New("drift accept: the manifests must load cleanly first")
	}
	var d *syncd.Desired
	for _, r := range set.Resources {
		if r.Key == key {
			d = r
		}
	}
	if d == nil {
		return fmt.Errorf("%s: no manifest in %s declares it", key, c.Manifests)
	}
	rd, err := stack.OpenPlanner(ctx, stack.PlanConfig{
		Platforms: c.platformFlags.config(log), DatabaseURL: c.DatabaseURL, HMACKey: c.hmacFlag.key(), Logger: log,
	})
	if err != nil {
		return err
	}
	eng, bindings := rd.Engine, rd.Bindings
	if err := eng.Preflight(ctx); err != nil {
		return err
	}
	res, err := eng.Plan(ctx, engine.PlanRequest{Set: set, Bindings: bindings, NoInventory: c.DatabaseURL == "", Scope: []syncd.Key{key}})
	if err != nil {
		return err
	}
	var ch *planner.Change
	for i := range res.Plan.Changes {
		if res.Plan.Changes[i].Key == key {
			ch = &res.Plan.Changes[i]
		}
	}
	switch {
	case ch == nil:
		return fmt.Errorf("%s was not planned", key)
	case ch.Error != "":
		return fmt.Errorf("%s: %s", key, ch.Error)
	case ch.Action == planner.ActionCreate || ch.RemoteID == "":
		return fmt.Errorf("%s has no live object: nothing to accept", key)
	}
	var live map[string]any
	for _, l := range res.Snapshot {
		if l.Kind == key.Kind && l.RemoteID == ch.RemoteID {
			live = l.Spec
		}
	}
	if live == nil {
		return fmt.Errorf("%s: its live object %s was not read", key, ch.RemoteID)
	}
	var pointers []string
	for _, f := range ch.Fields {
		if len(c.Field) > 0 && !slices.ContainsFunc(c.Field, func(p string) bool { return f.Path == p || strings.HasPrefix(f.Path, p+"/") }) {
			continue
		}
		if f.Sensitive || f.Unreadable || d.IsSensitive(f.Path) {
			fmt.Fprintf(os.Stderr, "skipped %s: a secret is never written into a manifest (its reference stays)\n", f.Path)
			continue
		}
		pointers = append(pointers, f.Path)
	}
	if len(pointers) == 0 {
		fmt.Fprintf(w, "%s: no drifted field to accept.\n", key)
		return nil
	}
	files, err := desired.AcceptLive(d, live, pointers)
	if err != nil {
		return fmt.Errorf("drift accept %s: %w", key, err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if c.DryRun {
			old, _ := os.ReadFile(p)
			io.WriteString(w, unifiedDiff(p, string(old), string(files[p])))
			continue
		}
		if err := writeFileAtomic(p, files[p]); err != nil {
			return err
		}
	}
	verb := "Accepted"
	if c.DryRun {
		verb = "Would accept (dry run, nothing written)"
	}
	fmt.Fprintf(w, "%s into git for %s (%s): %s\n", verb, key, ch.RemoteID, strings.Join(pointers, ", "))
	if !c.DryRun {
		fmt.Fprintf(w, "Wrote %s. Review and commit it; `syncd plan` no longer shows these fields.\n", strings.Join(paths, ", "))
	}
	return nil
}

// unifiedDiff is a line diff of old and new in unified format, with three
// lines of context (files are small: a quadratic LCS is fine).
func unifiedDiff(path, old, new string) string {
	a, b := strings.SplitAfter(old, "\n"), strings.SplitAfter(new, "\n")
	if a[len(a)-1] == "" {
		a = a[:len(a)-1]
	}
	if b[len(b)-1] == "" {
		b = b[:len(b)-1]
	}
	// lcs[i][j]: length of the LCS of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
		ai   int
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i})
			i++
			j++
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, op{'+', b[j], i})
			j++
		default:
			ops = append(ops, op{'-', a[i], i})
			i++
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", path, path)
	const ctx = 3
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-ctx)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*ctx || run == len(ops) {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		fmt.Fprintf(&out, "@@ line %d @@\n", ops[start].ai+1)
		for _, o := range ops[start:end] {
			t := o.text
			if !strings.HasSuffix(t, "\n") {
				t += "\n\\ No newline at end of file\n"
			}
			out.WriteString(string(o.kind) + t)
		}
		k = end
	}
	return out.String()
}
