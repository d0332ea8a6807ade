package patchworks

import (
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/syncd"
)

// Rules are PatchworksConnector's identity, comparison and sensitivity
// rules (syncd.Rules).
type Rules struct{}

var _ syncd.Rules = Rules{}

// Kind is PatchworksConnector.
func (Rules) Kind() syncd.Kind { return syncd.PatchworksConnector }

// NaturalKey is the connector's name.
func (Rules) NaturalKey(spec map[string]any) string {
	name, _ := spec["name"].(string)
	return name
}

// KeySpec is NaturalKey's reverse.
func (Rules) KeySpec(nk string) map[string]any { return map[string]any{"name": nk} }

// serverAssigned fields are never drift even if a manifest carries them.
var serverAssigned = map[string]bool{
	"id": true, "created_at": true, "updated_at": true,
	"appVersion": true, "app_version": true, "redirectUri": true,
}

// Compare skips the fields the API never reads back, treats a changed
// create-only field as a replace (the lists in fields.go), and compares
// other top-level fields loosely (Patchworks is a Laravel
// service whose integer ids and uncast pivot booleans come back as numbers
// or strings), each variable subfield the manifest sets as a unit, each
// pivot subfield it sets as a unit, and a variable the live object lacks as
// a whole. A secret variable's value is write-only: the API reads it back
// as null.
func (Rules) Compare(d, l map[string]any, c syncd.Comparison) {
	for k, dv := range d {
		if serverAssigned[k] || slices.Contains(unreadableFields, k) {
			continue // sent on create, never read back: nothing to compare
		}
		lv, has := l[k]
		if slices.Contains(createOnlyFields, k) {
			// An update cannot change it (Patchworks drops it silently), so
			// a difference means a new connector, as a Make type change does.
			if c.Unit(syncd.Unit{Path: []string{k}, Desired: dv, Live: lv, LiveHas: has, Loose: true}) {
				c.Replace()
			}
			continue
		}
		dvars, ok := dv.(map[string]any)
		if k != "variables" || !ok {
			c.Unit(syncd.Unit{Path: []string{k}, Desired: dv, Live: lv, LiveHas: has, Loose: k != "variables"})
			continue
		}
		lvars, _ := lv.(map[string]any)
		for key, dvar := range dvars {
			lvar, has := lvars[key]
			dm, dok := dvar.(map[string]any)
			lm, lok := lvar.(map[string]any)
			if !has || !dok || !lok {
				c.Unit(syncd.Unit{Path: []string{"variables", key}, Desired: dvar, Live: lvar, LiveHas: has})
				continue
			}
			secret := dm["secret"] == true || lm["secret"] == true
			for f, fv := range dm {
				if serverAssigned[f] {
					continue
				}
				lfv, lfHas := lm[f]
				if f == "pivot" {
					pm, pok := fv.(map[string]any)
					lpm, lpok := lfv.(map[string]any)
					if pok && lpok {
						// Only the pivot subfields the manifest sets are managed.
						for pf, pv := range pm {
							lpv, lpHas := lpm[pf]
							c.Unit(syncd.Unit{Path: []string{"variables", key, "pivot", pf}, Desired: pv, Live: lpv, LiveHas: lpHas, Loose: true})
						}
						continue
					}
				}
				c.Unit(syncd.Unit{Path: []string{"variables", key, f}, Desired: fv, Live: lfv, LiveHas: lfHas, WriteOnly: secret && f == "value", Loose: true})
			}
		}
	}
}

// CreateFields shows every top-level field, each variable one entry.
func (Rules) CreateFields(d map[string]any, emit func([]string, any)) {
	for k, v := range d {
		if serverAssigned[k] || v == nil {
			continue // null is what a new object has anyway
		}
		if m, ok := v.(map[string]any); ok && k == "variables" {
			for name, sub := range m {
				emit([]string{k, name}, sub)
			}
			continue
		}
		emit([]string{k}, v)
	}
}

// Sensitive: the value of a variable that either side marks secret.
func (Rules) Sensitive(ptr string, specs ...map[string]any) bool {
	rest, ok := strings.CutPrefix(ptr, "/variables/")
	if !ok {
		return false
	}
	key, field, _ := strings.Cut(rest, "/")
	if field != "value" && !strings.HasPrefix(field, "value/") {
		return false
	}
	key = syncd.UnescapePointerToken(key)
	for _, s := range specs {
		if secretVar(s, key) {
			return true
		}
	}
	return false
}

func secretVar(spec map[string]any, key string) bool {
	vars, _ := spec["variables"].(map[string]any)
	v, _ := vars[key].(map[string]any)
	return v["secret"] == true
}

// MaySensitive: only variables hold secrets by flag.
// Unmanaged lists a connector under Patchworks, by name.
func (r Rules) Unmanaged(spec map[string]any) (group, heading, name string) {
	return "", "Patchworks", r.NaturalKey(spec)
}

func (Rules) MaySensitive(ptr string) bool {
	return ptr == "" || ptr == "/variables" || strings.HasPrefix(ptr, "/variables/")
}
