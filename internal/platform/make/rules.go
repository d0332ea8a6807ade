package make

import (
	"strings"

	"github.com/syncd/syncd/internal/syncd"
)

// Rules are MakeConnection's identity, comparison and sensitivity rules
// (syncd.Rules).
type Rules struct{}

var _ syncd.Rules = Rules{}

// Kind is MakeConnection.
func (Rules) Kind() syncd.Kind { return syncd.MakeConnection }

// NaturalKey is app + "/" + label: Make has no other identity that survives
// a lost create response.
func (Rules) NaturalKey(spec map[string]any) string {
	app, _ := spec["app"].(string)
	label, _ := spec["label"].(string)
	return app + "/" + label
}

// KeySpec is NaturalKey's reverse (an app name has no slash).
func (Rules) KeySpec(nk string) map[string]any {
	app, label, _ := strings.Cut(nk, "/")
	return map[string]any{"app": app, "label": label}
}

// secretWords mark a common-data key as secret (SPEC §2).
var secretWords = []string{"secret", "password", "token", "key"}

// SecretName reports whether a common-data key name marks its value
// secret. The loader, the import writer and Sensitive all apply it.
func SecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// serverAssigned fields are never drift even if a manifest carries them.
var serverAssigned = map[string]bool{
	"id": true, "created_at": true, "updated_at": true,
	"appVersion": true, "app_version": true, "redirectUri": true,
}

// emptyMap and emptySlice are shared, never-mutated defaults so that the
// planner's equality fast path allocates nothing.
var (
	emptyMap   = map[string]any{}
	emptySlice = []any{}
)

// sectionDefault is what a section that is missing, or that an old
// connection returns as null, is equal to.
func sectionDefault(name string) any {
	switch name {
	case "api", "scopes", "install":
		return emptyMap
	case "parameters", "scope", "installSpec":
		return emptySlice
	}
	return nil
}

// Compare compares every top-level field the manifest sets; a changed app or
// type is a replace; each declared section is a unit (null and missing equal
// its empty default); common data is written as a whole, so it is compared
// as a whole: a key only the live object has is a difference.
func (Rules) Compare(d, l map[string]any, c syncd.Comparison) {
	for k, dv := range d {
		if serverAssigned[k] {
			continue
		}
		lv, has := l[k]
		switch k {
		case "app":
			// The client may not echo the app (it is a path parameter); a
			// connection never moves between apps, so a difference means a
			// different object.
			if has && c.Unit(syncd.Unit{Path: []string{k}, Desired: dv, Live: lv, LiveHas: true}) {
				c.Replace()
			}
			continue
		case "type":
			if c.Unit(syncd.Unit{Path: []string{k}, Desired: dv, Live: lv, LiveHas: has}) {
				c.Replace()
			}
			continue
		case "sections":
			if ds, ok := dv.(map[string]any); ok {
				ls, _ := lv.(map[string]any)
				for name, sv := range ds {
					if sv == nil {
						sv = sectionDefault(name)
					}
					lsv := ls[name]
					if lsv == nil {
						lsv = sectionDefault(name)
					}
					c.Unit(syncd.Unit{Path: []string{"sections", name}, Desired: sv, Live: lsv, LiveHas: true})
				}
				continue
			}
		case "common":
			if dv == nil {
				dv = emptyMap
			}
			if lv == nil {
				lv = emptyMap
			}
			c.Unit(syncd.Unit{Path: []string{"common"}, Desired: dv, Live: lv, LiveHas: true})
			continue
		}
		c.Unit(syncd.Unit{Path: []string{k}, Desired: dv, Live: lv, LiveHas: has})
	}
}

// CreateFields shows every top-level field, each section one entry.
func (Rules) CreateFields(d map[string]any, emit func([]string, any)) {
	for k, v := range d {
		if serverAssigned[k] || v == nil {
			continue // null is what a new object has anyway
		}
		if m, ok := v.(map[string]any); ok && k == "sections" {
			for name, sub := range m {
				emit([]string{k, name}, sub)
			}
			continue
		}
		emit([]string{k}, v)
	}
}

// Sensitive applies the secret-name rule at every level of common data,
// and treats a common value that is not an object (Make refuses one, but a
// live object might hold it) as secret as a whole: without keys nothing
// says what is safe to show.
func (Rules) Sensitive(ptr string, specs ...map[string]any) bool {
	rest, ok := strings.CutPrefix(ptr, "/common")
	if !ok || (rest != "" && rest[0] != '/') {
		return false
	}
	if rest == "" {
		for _, s := range specs {
			if c, has := s["common"]; has && c != nil {
				if _, isObj := c.(map[string]any); !isObj {
					return true
				}
			}
		}
		return false
	}
	for tok := range strings.SplitSeq(rest[1:], "/") {
		if SecretName(syncd.UnescapePointerToken(tok)) {
			return true
		}
	}
	return false
}

// MaySensitive: only common data holds secrets by name.
// Unmanaged lists a connection under its app, by label.
func (Rules) Unmanaged(spec map[string]any) (group, heading, name string) {
	group, _ = spec["app"].(string)
	name, _ = spec["label"].(string)
	heading = "Make app " + group
	if group == "" {
		heading = "Make (app unknown)"
	}
	return group, heading, name
}

func (Rules) MaySensitive(ptr string) bool {
	return ptr == "" || ptr == "/common" || strings.HasPrefix(ptr, "/common/")
}
