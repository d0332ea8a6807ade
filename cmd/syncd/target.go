package main

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// targetFlag limits plan, apply and run --once to some resources, as
// Terraform's -target does.
type targetFlag struct {
	Target []string `name:"target" placeholder:"KIND/NAME" help:"Only read, plan and apply the resources matching KIND/NAME (repeatable; * and ? match within a part, the kind is case-insensitive). A partial plan says so and never prunes."`
}

// scope resolves the --target patterns against the loaded manifests: nil
// without --target (everything). A malformed pattern, an unknown kind or
// a pattern that matches no manifest is an error: a typo must not plan
// "nothing to do".
func (t targetFlag) scope(set *desired.Set) ([]syncd.Key, error) {
	if len(t.Target) == 0 {
		return nil, nil
	}
	in := map[syncd.Key]bool{}
	for _, pat := range t.Target {
		kindPat, namePat, err := parseTarget(pat)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, d := range set.Resources {
			if targetMatches(kindPat, namePat, d.Key) {
				in[d.Key] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("--target %s matches no manifest (resources are named KIND/metadata.name, e.g. %s/acme-crm)", pat, registry.Kinds()[0])
		}
	}
	keys := make([]syncd.Key, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, syncd.Key.Compare)
	return keys, nil
}

// parseTarget splits KIND/NAME and checks both patterns.
func parseTarget(pat string) (kindPat, namePat string, err error) {
	kinds := registry.Kinds()
	kindPat, namePat, ok := strings.Cut(pat, "/")
	if !ok || kindPat == "" || namePat == "" || strings.Contains(namePat, "/") {
		return "", "", fmt.Errorf("--target %q: want KIND/NAME, e.g. %s/acme-crm or %s/*", pat, kinds[0], kinds[len(kinds)-1])
	}
	kindPat = strings.ToLower(kindPat)
	if _, err := path.Match(kindPat, ""); err != nil {
		return "", "", fmt.Errorf("--target %q: bad pattern in the kind", pat)
	}
	if _, err := path.Match(namePat, ""); err != nil {
		return "", "", fmt.Errorf("--target %q: bad pattern in the name", pat)
	}
	known := false
	for _, k := range kinds {
		if m, _ := path.Match(kindPat, strings.ToLower(string(k))); m {
			known = true
		}
	}
	if !known {
		return "", "", fmt.Errorf("--target %q: no kind matches %q (kinds: %s)", pat, kindPat, syncd.KindList(kinds, ", "))
	}
	return kindPat, namePat, nil
}

func targetMatches(kindPat, namePat string, k syncd.Key) bool {
	km, _ := path.Match(kindPat, strings.ToLower(string(k.Kind)))
	nm, _ := path.Match(namePat, k.Name)
	return km && nm
}
