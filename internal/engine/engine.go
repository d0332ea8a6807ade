package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/observe"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
)

// Engine observes and plans.
type Engine struct {
	Providers map[syncd.Kind]observe.Provider
	Hasher    syncd.Hasher
	Logger    *slog.Logger
}

// PlanRequest is one planning step's input.
type PlanRequest struct {
	// Set is the loaded desired state. When Set.Errors is non-empty the plan
	// has no delete and no replace.
	Set      *desired.Set
	Bindings map[syncd.Key]syncd.Binding
	// NoInventory: Bindings were not read (no database); see planner.Input.
	NoInventory bool
	// Scope limits planning to these keys (nil: everything). Deletes are
	// only planned for a full scope.
	Scope           []syncd.Key
	Prune           bool
	MaxDelete       int
	AllowMassDelete bool
}

// PlanResult is the plan and what it cost.
type PlanResult struct {
	Plan     *planner.Plan
	Snapshot []syncd.Live
	Requests []observe.Stats // per platform, requests made by this step
}

// Plan observes what req needs and builds the plan.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*PlanResult, error) {
	before := e.Stats()
	wants := e.Wants(req)
	live, gone, err := e.Observe(ctx, wants)
	if err != nil {
		return nil, err
	}
	in := planner.Input{
		Desired:         req.Set.Resources,
		Live:            live,
		Gone:            gone,
		Bindings:        req.Bindings,
		NoInventory:     req.NoInventory,
		Hasher:          e.Hasher,
		Prune:           req.Prune && req.Scope == nil,
		LoadFailed:      len(req.Set.Errors) > 0,
		MaxDelete:       req.MaxDelete,
		AllowMassDelete: req.AllowMassDelete,
		Scope:           req.Scope,
	}
	p := planner.Build(in)
	return &PlanResult{Plan: p, Snapshot: live, Requests: statsSince(e.Stats(), before)}, nil
}

// Wants lists, per kind, the remote objects a plan for req must read: every
// desired resource in scope (by binding, externalId or natural key) and,
// when pruning a full scope, every inventory object whose manifest is gone.
func (e *Engine) Wants(req PlanRequest) map[syncd.Kind][]observe.Want {
	inScope := func(k syncd.Key) bool { return req.Scope == nil || slices.Contains(req.Scope, k) }
	wants := map[syncd.Kind][]observe.Want{}
	have := map[syncd.Key]bool{}
	for _, d := range req.Set.Resources {
		have[d.Key] = true
		if !inScope(d.Key) {
			continue
		}
		w := observe.Want{Desired: d, RemoteID: d.ExternalID}
		if b, ok := req.Bindings[d.Key]; ok && b.RemoteID != "" {
			w.RemoteID = b.RemoteID
		}
		wants[d.Key.Kind] = append(wants[d.Key.Kind], w)
	}
	if req.Prune && req.Scope == nil {
		keys := make([]syncd.Key, 0, len(req.Bindings))
		for k := range req.Bindings {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, syncd.Key.Compare)
		for _, k := range keys {
			if have[k] {
				continue
			}
			wants[k.Kind] = append(wants[k.Kind], observe.Want{RemoteID: req.Bindings[k].RemoteID})
		}
	}
	return wants
}

// Observe reads every platform that has wants, in parallel.
func (e *Engine) Observe(ctx context.Context, wants map[syncd.Kind][]observe.Want) ([]syncd.Live, map[syncd.Kind][]string, error) {
	kinds := make([]syncd.Kind, 0, len(wants))
	for k, w := range wants {
		if len(w) > 0 {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	snaps := make([]observe.Snapshot, len(kinds))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range kinds {
		p, ok := e.Providers[k]
		if !ok {
			return nil, nil, fmt.Errorf("no platform configured for %s (set its URL and token)", k)
		}
		g.Go(func() error {
			s, err := p.Observe(gctx, wants[k])
			if err != nil {
				return fmt.Errorf("observe %s: %w", k, err)
			}
			snaps[i] = s
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var live []syncd.Live
	gone := map[syncd.Kind][]string{}
	for i, s := range snaps {
		live = append(live, s.Objects...)
		if len(s.Gone) > 0 {
			gone[kinds[i]] = s.Gone
		}
	}
	return live, gone, nil
}

// Stats returns every provider's cumulative request counts, sorted by platform.
func (e *Engine) Stats() []observe.Stats {
	var out []observe.Stats
	for _, k := range syncd.Kinds {
		if p, ok := e.Providers[k]; ok {
			out = append(out, p.Stats())
		}
	}
	return out
}

func statsSince(now, before []observe.Stats) []observe.Stats {
	out := make([]observe.Stats, len(now))
	for i, s := range now {
		var b observe.Stats
		for _, x := range before {
			if x.Platform == s.Platform {
				b = x
			}
		}
		out[i] = s.Sub(b)
	}
	return out
}
