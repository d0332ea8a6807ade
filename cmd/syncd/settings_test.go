package main

import (
	"reflect"
	"slices"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/syncd/syncd/internal/platform/registry"
)

// TestPlatformFlagsAreTheRegistrysSettings: every command that reaches the
// platforms has a flag for each registered setting, with its environment
// variable, default and help, in the registry's order, and nothing else
// of the platforms' (the CLI names no platform).
func TestPlatformFlagsAreTheRegistrysSettings(t *testing.T) {
	var c cli
	withPlatformFlags(reflect.ValueOf(&c))
	parser, err := kong.New(&c, importVars())
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "apply", "run", "import"} {
		var node *kong.Node
		for _, n := range parser.Model.Children {
			if n.Name == cmd {
				node = n
			}
		}
		if node == nil {
			t.Fatalf("no command %s", cmd)
		}
		byName := map[string]*kong.Flag{}
		var order []string
		for _, f := range node.Flags {
			byName[f.Name] = f
			order = append(order, f.Name)
		}
		last := -1
		for _, s := range registry.Settings() {
			f, ok := byName[s.Flag]
			if !ok {
				t.Errorf("%s: no --%s", cmd, s.Flag)
				continue
			}
			if len(f.Envs) != 1 || f.Envs[0] != s.Env || f.Default != s.Default || f.Help != s.Help || f.Hidden != s.Hidden {
				t.Errorf("%s --%s: env %v default %q hidden %v help %q; want %s %q %v %q", cmd, s.Flag, f.Envs, f.Default, f.Hidden, f.Help, s.Env, s.Default, s.Hidden, s.Help)
			}
			i := slices.Index(order, s.Flag)
			if i < last {
				t.Errorf("%s: --%s is out of the registry's order", cmd, s.Flag)
			}
			last = i
		}
	}
}
