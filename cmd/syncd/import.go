package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/engine"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

type importCmd struct {
	platformFlags

	Kind  string `name:"kind" required:"" help:"Kind to import: ${import_kinds} (any case)."`
	App   string `name:"app" help:"${import_scope}"`
	Out   string `name:"out" type:"path" default:"manifests/imported" help:"Directory to write the manifests into (OUT/KIND/NAME.yaml, OUT/schema.json)."`
	Force bool   `name:"force" help:"Overwrite files that exist; without it, import writes nothing when any would be overwritten."`
	progressFlag
	SecretsAsEnv bool `name:"secrets-as-env" help:"Manage secrets too, written as required ${env:SYNCD_NAME_FIELD} references; without it they stay out of the manifests and are left as they are."`
}

// importFile is one file an import writes.
type importFile struct {
	path string
	data []byte
}

func (c *importCmd) Run(ctx context.Context, g *Globals) error {
	adjustStartingHeap()
	log := newLogger(g, os.Stderr)
	kind, err := parseKind(c.Kind)
	if err != nil {
		return fmt.Errorf("import: --kind: %w", err)
	}
	pl, ok := registry.For(kind)
	if !ok {
		return fmt.Errorf("import: no platform registered for kind %s", kind)
	}
	if err := pl.CheckImportScope(c.App); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	providers, err := engine.Providers(c.platformFlags.config(log))
	if err != nil {
		return err
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
	prog := startProgress(c.progressFlag, func() []platform.Stats { return []platform.Stats{p.Stats()} }, nil, "importing")
	defer prog.Stop()
	objs, err := pl.Import(ctx, p, c.App, max(c.Concurrency, 1))
	prog.Stop()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	files, err := c.render(kind, objs)
	if err != nil {
		return err
	}
	if !c.Force {
		var exist []string
		for _, f := range files {
			if _, err := os.Stat(f.path); err == nil {
				exist = append(exist, f.path)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("import: %s exist(s); nothing written (--force overwrites)", strings.Join(exist, ", "))
		}
	}
	schemaPath := filepath.Join(c.Out, "schema.json")
	if old, err := os.ReadFile(schemaPath); err != nil || c.Force {
		files = append(files, importFile{path: schemaPath, data: desired.Schema()})
	} else if !bytes.Equal(old, desired.Schema()) {
		fmt.Fprintf(os.Stderr, "kept %s, which differs from `syncd schema` (--force overwrites it)\n", schemaPath)
	}
	for _, f := range files {
		if err := writeFileAtomic(f.path, f.data); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", f.path)
	}
	msg := "Secrets were left out (--secrets-as-env manages them)."
	if c.SecretsAsEnv {
		msg = "Secrets are ${env:...} references: set them before planning."
	}
	fmt.Fprintf(os.Stderr, "Imported %d %s object(s) into %s. %s\n", len(objs), kind, filepath.Join(c.Out, strings.ToLower(string(kind))), msg)
	return nil
}

// render turns the live objects into files: a manifest per object and,
// for Make, a JSONC file per section holding the live text byte for byte.
func (c *importCmd) render(kind syncd.Kind, objs []platform.Imported) ([]importFile, error) {
	dir := filepath.Join(c.Out, strings.ToLower(string(kind)))
	used := map[string]int{}
	pl, ok := registry.For(kind)
	if !ok {
		return nil, fmt.Errorf("import: no platform registered for kind %s", kind)
	}
	var files []importFile
	for _, o := range objs {
		name := desired.NameFor(pl.NaturalKey(o.Live.Spec))
		if n := used[name]; n > 0 {
			name = fmt.Sprintf("%s-%d", strings.TrimRight(name[:min(len(name), 58)], "-"), n+1)
		}
		used[name]++
		opts := desired.WriteOptions{SchemaRef: "../schema.json", SecretsAsEnv: c.SecretsAsEnv, SectionFiles: map[string]string{}}
		for _, raw := range o.Raw {
			file := name + "." + raw.Name + ".jsonc"
			opts.SectionFiles[raw.Name] = file
			files = append(files, importFile{path: filepath.Join(dir, file), data: []byte(raw.Text)})
		}
		var b bytes.Buffer
		if err := desired.WriteManifestWith(&b, o.Live, name, opts); err != nil {
			return nil, fmt.Errorf("import: %s: %w", o.Live.RemoteID, err)
		}
		files = append(files, importFile{path: filepath.Join(dir, name+".yaml"), data: b.Bytes()})
	}
	return files, nil
}

// importVars are the import flags' help texts that come from the
// platforms: the kinds, and what --app scopes.
func importVars() kong.Vars {
	var scope []string
	for _, p := range registry.All() {
		if h := p.ImportScopeHelp(); h != "" {
			scope = append(scope, h)
		}
	}
	return kong.Vars{
		"import_kinds": syncd.KindList(registry.Kinds(), " or "),
		"import_scope": strings.Join(scope, " "),
	}
}

// parseKind reads a kind in any case.
func parseKind(s string) (syncd.Kind, error) {
	var kinds []string
	for _, p := range registry.All() {
		if strings.EqualFold(s, string(p.Kind())) {
			return p.Kind(), nil
		}
		kinds = append(kinds, string(p.Kind()))
	}
	return "", fmt.Errorf("%q is not one of %s", s, strings.Join(kinds, ", "))
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, creating the directory.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if err := tmp.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
