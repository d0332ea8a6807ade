// Package registry is the list of platforms, in one place. The core
// (engine, executor, loader, commands, test environment, schema) iterates
// it and never names a platform; adding one is its folder plus one line in
// All.
package registry

import (
	"fmt"
	"slices"

	"github.com/syncd/syncd/internal/platform"
	makeplatform "github.com/syncd/syncd/internal/platform/make"
	"github.com/syncd/syncd/internal/platform/patchworks"
	"github.com/syncd/syncd/internal/syncd"
)

// All returns every platform, in a fixed order.
func All() []platform.Platform {
	return []platform.Platform{
		makeplatform.Platform{},
		patchworks.Platform{},
	}
}

// Kinds lists every registered kind, in the registry's order.
func Kinds() []syncd.Kind {
	var out []syncd.Kind
	for _, p := range All() {
		out = append(out, p.Kind())
	}
	return out
}

// Settings are every platform's settings in the order --help lists them:
// by rank, then in the registry's order.
func Settings() []platform.Setting {
	var out []platform.Setting
	for _, p := range All() {
		out = append(out, p.Settings()...)
	}
	slices.SortStableFunc(out, func(a, b platform.Setting) int { return a.Rank - b.Rank })
	return out
}

// For returns the platform of kind k.
func For(k syncd.Kind) (platform.Platform, bool) {
	for _, p := range All() {
		if p.Kind() == k {
			return p, true
		}
	}
	return nil, false
}

// Rules returns every platform's rules by kind, as the planner's input
// takes them.
func Rules() map[syncd.Kind]syncd.Rules {
	out := map[syncd.Kind]syncd.Rules{}
	for _, p := range All() {
		out[p.Kind()] = p
	}
	return out
}

// Providers builds a client for every platform cfg configures. A platform
// cfg does not mention is left out; planning a resource of its kind then
// fails with NotConfigured.
func Providers(cfg platform.Config) (map[syncd.Kind]platform.Provider, error) {
	out := map[syncd.Kind]platform.Provider{}
	for _, p := range All() {
		c, err := p.NewProvider(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name(), err)
		}
		if c != nil {
			out[p.Kind()] = c
		}
	}
	return out, nil
}

// NotConfigured is the error for a resource of a kind whose platform has
// no URL: it names the settings to make.
func NotConfigured(k syncd.Kind) error {
	if p, ok := For(k); ok {
		return fmt.Errorf("no platform configured for %s: %s", k, p.Setup())
	}
	return fmt.Errorf("no platform registered for kind %s", k)
}
