package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

type importCmd struct {
	platformFlags

	Kind string `name:"kind" required:"" enum:"MakeConnection,PatchworksConnector" help:"Kind to import: MakeConnection or PatchworksConnector."`
	App  string `name:"app" help:"Make SDK app whose connections to import (required for MakeConnection)."`
	Out  string `name:"out" type:"path" default:"manifests/imported" help:"Directory to write the manifests into."`
}

func (c *importCmd) Run(ctx context.Context, g *Globals) error {
	log := newLogger(g, os.Stderr)
	kind := syncd.Kind(c.Kind)
	if kind == syncd.MakeConnection && c.App == "" {
		return errors.New("import: --app is required for MakeConnection")
	}
	providers, err := engine.Providers(c.platformFlags.config(log))
	if err != nil {
		return err
	}
	pl, ok := registry.For(kind)
	if !ok {
		return fmt.Errorf("import: no platform registered for kind %s", kind)
	}
	p, ok := providers[kind]
	if !ok {
		return fmt.Errorf("import: %w", engine.NotConfigured(kind))
	}
	if pf, ok := p.(platform.Preflighter); ok {
		if err := pf.Preflight(ctx); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	objs, err := p.ListAll(ctx, c.App)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	dir := filepath.Join(c.Out, strings.ToLower(string(kind)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	used := map[string]int{}
	for _, l := range objs {
		name := desired.NameFor(pl.NaturalKey(l.Spec))
		if n := used[name]; n > 0 {
			name = fmt.Sprintf("%s-%d", strings.TrimRight(name[:min(len(name), 58)], "-"), n+1)
		}
		used[name]++
		path := filepath.Join(dir, name+".yaml")
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("import: %s exists; not overwriting", path)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		werr := desired.WriteManifest(f, l, name)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("import: write %s: %w", path, werr)
		}
		fmt.Fprintf(os.Stderr, "wrote %s (%s)\n", path, l.RemoteID)
	}
	fmt.Fprintf(os.Stderr, "Imported %d %s object(s) into %s. Secrets are ${env:...} placeholders: set them before planning.\n", len(objs), kind, dir)
	return nil
}
