package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// Engine observes and plans.
type Engine struct {
	Providers map[syncd.Kind]platform.Provider
	Hasher    syncd.Hasher
	Logger    *slog.Logger

	mu     sync.Mutex
	passed map[syncd.Kind]bool // platforms whose preflight succeeded
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
	Scope []syncd.Key
	// Targets are the --target patterns Scope came from (planner.Input.Targets).
	Targets         []string
	Prune           bool
	MaxDelete       int
	AllowMassDelete bool
}

// PlanResult is the plan and what it cost.
type PlanResult struct {
	Plan     *planner.Plan
	Snapshot []syncd.Live
	Requests []platform.Stats // per platform, requests made by this step
}

// Plan observes what req needs and builds the plan.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*PlanResult, error) {
	before := e.Stats()
	wants := e.Wants(req)
	live, gone, unreadable, err := e.observe(ctx, wants)
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
		Targets:         req.Targets,
		Unreadable:      unreadable,
		Rules:           registry.Rules(),
	}
	p := planner.Build(in)
	if req.Scope == nil && len(req.Set.Errors) == 0 {
		// From the lists already read: no request of its own.
		p.Coverage = planner.CoverageOf(live, req.Bindings, p, in.Rules)
	}
	return &PlanResult{Plan: p, Snapshot: live, Requests: statsSince(e.Stats(), before)}, nil
}

// Wants lists, per kind, the remote objects a plan for req must read: every
// desired resource in scope (by binding, externalId or natural key) and,
// when pruning a full scope, every inventory object whose manifest is gone.
func (e *Engine) Wants(req PlanRequest) map[syncd.Kind][]platform.Want {
	// A daemon's edit scopes one resource of thousands: look the scope up,
	// and note what the manifests have only when pruning needs it.
	var scope map[syncd.Key]bool
	if req.Scope != nil {
		scope = make(map[syncd.Key]bool, len(req.Scope))
		for _, k := range req.Scope {
			scope[k] = true
		}
	}
	pruning := req.Prune && req.Scope == nil
	wants := map[syncd.Kind][]platform.Want{}
	have := map[syncd.Key]bool{}
	for _, d := range req.Set.Resources {
		if pruning {
			have[d.Key] = true
		}
		if scope != nil && !scope[d.Key] {
			continue
		}
		w := platform.Want{Desired: d, RemoteID: d.ExternalID}
		if b, ok := req.Bindings[d.Key]; ok && b.RemoteID != "" {
			w.RemoteID = b.RemoteID
		}
		wants[d.Key.Kind] = append(wants[d.Key.Kind], w)
	}
	if pruning {
		keys := make([]syncd.Key, 0, len(req.Bindings))
		for k := range req.Bindings {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, syncd.Key.Compare)
		for _, k := range keys {
			if have[k] {
				continue
			}
			wants[k.Kind] = append(wants[k.Kind], platform.Want{RemoteID: req.Bindings[k].RemoteID})
		}
	}
	return wants
}

// Observe reads every platform that has wants, in parallel.
func (e *Engine) Observe(ctx context.Context, wants map[syncd.Kind][]platform.Want) ([]syncd.Live, map[syncd.Kind][]string, error) {
	live, gone, _, err := e.observe(ctx, wants)
	return live, gone, err
}

func (e *Engine) observe(ctx context.Context, wants map[syncd.Kind][]platform.Want) ([]syncd.Live, map[syncd.Kind][]string, map[syncd.Key]string, error) {
	kinds := make([]syncd.Kind, 0, len(wants))
	for k, w := range wants {
		if len(w) > 0 {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	snaps := make([]platform.Snapshot, len(kinds))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range kinds {
		p, ok := e.Providers[k]
		if !ok {
			return nil, nil, nil, NotConfigured(k)
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
		return nil, nil, nil, err
	}
	var live []syncd.Live
	gone := map[syncd.Kind][]string{}
	var unreadable map[syncd.Key]string
	for i, s := range snaps {
		live = append(live, s.Objects...)
		if len(s.Gone) > 0 {
			gone[kinds[i]] = s.Gone
		}
		for k, why := range s.Unreadable {
			if unreadable == nil {
				unreadable = map[syncd.Key]string{}
			}
			unreadable[k] = why
		}
	}
	return live, gone, unreadable, nil
}

// NotConfigured is the error for a resource of a kind whose platform has
// no URL: it names the settings to make.
func NotConfigured(k syncd.Kind) error { return registry.NotConfigured(k) }

// Preflight checks every configured platform once with a cheap
// authenticated read (platform.Preflighter), in parallel, before anything is
// planned: a base URL that does not answer like the platform, or a rejected
// token, is an error naming the URL, the status and the likely fix. A
// platform that passed is not checked again by this Engine (its URL and
// token cannot change during a process); one that failed is checked again
// next time.
func (e *Engine) Preflight(ctx context.Context) error {
	var kinds []syncd.Kind
	e.mu.Lock()
	for _, pl := range registry.All() {
		if k := pl.Kind(); e.Providers[k] != nil && !e.passed[k] {
			kinds = append(kinds, k)
		}
	}
	e.mu.Unlock()
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		pf, ok := e.Providers[k].(platform.Preflighter)
		if !ok {
			continue
		}
		wg.Go(func() { errs[i] = pf.Preflight(ctx) })
	}
	wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, k := range kinds {
		if errs[i] == nil {
			if e.passed == nil {
				e.passed = map[syncd.Kind]bool{}
			}
			e.passed[k] = true
		}
	}
	return errors.Join(errs...)
}

// Stats returns every provider's cumulative request counts, sorted by platform.
func (e *Engine) Stats() []platform.Stats {
	var out []platform.Stats
	for _, pl := range registry.All() {
		if p, ok := e.Providers[pl.Kind()]; ok {
			out = append(out, p.Stats())
		}
	}
	return out
}

func statsSince(now, before []platform.Stats) []platform.Stats {
	out := make([]platform.Stats, len(now))
	for i, s := range now {
		var b platform.Stats
		for _, x := range before {
			if x.Platform == s.Platform {
				b = x
			}
		}
		out[i] = s.Sub(b)
	}
	return out
}
