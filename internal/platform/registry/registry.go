// Package registry is the list of platforms, in one place. The core
// (engine, executor, loader, commands, test environment, schema) iterates
// it and never names a platform; adding one is its folder plus one line in
// All (and, for the test stack, one in internal/testenv/platforms.go).
package registry

import (
	"fmt"
	"maps"
	"slices"
	"strings"

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

// Setting is a platform's setting and the name of its platform, under
// which its value goes in platform.Config.Settings.
type Setting struct {
	platform.Setting
	Platform string
}

// Settings are every platform's settings in the order --help lists them:
// by rank, then in the registry's order.
func Settings() []Setting {
	var out []Setting
	for _, p := range All() {
		for _, s := range p.Settings() {
			out = append(out, Setting{Setting: s, Platform: p.Name()})
		}
	}
	slices.SortStableFunc(out, func(a, b Setting) int { return a.Rank - b.Rank })
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
// fails with NotConfigured. A value no platform declares, or of another
// type than its setting's, is an error: a misspelt setting is not silently
// left unset.
func Providers(cfg platform.Config) (map[syncd.Kind]platform.Provider, error) {
	if err := checkValues(cfg.Settings); err != nil {
		return nil, err
	}
	out := map[syncd.Kind]platform.Provider{}
	for _, p := range All() {
		c, err := p.NewProvider(cfg)
		if err != nil {
			if strings.HasPrefix(err.Error(), p.Name()+": ") {
				return nil, err // the client named its platform already
			}
			return nil, fmt.Errorf("%s: %w", p.Name(), err)
		}
		if c != nil {
			out[p.Kind()] = c
		}
	}
	return out, nil
}

// checkValues says which of settings (values by platform name) no
// registered platform declares, or has another type than its setting.
func checkValues(settings map[string]platform.Values) error {
	declared := map[string]map[string]platform.SettingKind{}
	for _, p := range All() {
		declared[p.Name()] = map[string]platform.SettingKind{}
		for _, s := range p.Settings() {
			declared[p.Name()][s.Flag] = s.Kind
		}
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		kinds, ok := declared[name]
		if !ok {
			return fmt.Errorf("settings of %q: no platform registered by that name", name)
		}
		for _, flag := range slices.Sorted(maps.Keys(settings[name])) {
			kind, ok := kinds[flag]
			if !ok {
				return fmt.Errorf("%s: no setting %q", name, flag)
			}
			var typeOK bool
			switch settings[name][flag].(type) {
			case string:
				typeOK = kind == platform.SettingString
			case int:
				typeOK = kind == platform.SettingInt
			case float64:
				typeOK = kind == platform.SettingShare
			}
			if !typeOK {
				return fmt.Errorf("%s: setting %q holds %T, want %s", name, flag, settings[name][flag], kind)
			}
		}
	}
	return nil
}

// NotConfigured is the error for a resource of a kind whose platform has
// no URL: it names the settings to make.
func NotConfigured(k syncd.Kind) error {
	if p, ok := For(k); ok {
		return fmt.Errorf("no platform configured for %s: %s", k, p.Setup())
	}
	return fmt.Errorf("no platform registered for kind %s", k)
}
