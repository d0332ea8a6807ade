package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/executor"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/manifest"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// A "Gadget" is a platform that exists only in this file: everything a new
// platform writes, in one place, and nothing outside it. The tests below
// load, plan and apply a manifest of its kind through the core's own
// loader, planner and executor, and check that the core names no platform.

const gadgetKind syncd.Kind = "Gadget"

type gadget struct{}

var _ platform.Platform = gadget{}

// Rules: a gadget is found by its title; its token is secret.
func (gadget) Kind() syncd.Kind                               { return gadgetKind }
func (gadget) NaturalKey(spec map[string]any) string          { s, _ := spec["title"].(string); return s }
func (gadget) KeySpec(nk string) map[string]any               { return map[string]any{"title": nk} }
func (gadget) Sensitive(ptr string, _ ...map[string]any) bool { return ptr == "/token" }
func (gadget) MaySensitive(ptr string) bool                   { return ptr == "" || ptr == "/token" }
func (g gadget) Unmanaged(spec map[string]any) (string, string, string) {
	return "", "Gadgets", g.NaturalKey(spec)
}
func (gadget) Compare(d, l map[string]any, c syncd.Comparison) {
	for _, k := range manifest.SortedKeys(d) {
		lv, has := l[k]
		c.Unit(syncd.Unit{Path: []string{k}, Desired: d[k], Live: lv, LiveHas: has})
	}
}
func (gadget) CreateFields(d map[string]any, emit func([]string, any)) {
	for _, k := range manifest.SortedKeys(d) {
		emit([]string{k}, d[k])
	}
}

// Format: spec is {title, colour?, token?}.
func (gadget) DecodeSpec(d manifest.Doc, key, value *yaml.Node, p manifest.Path) (map[string]any, *yaml.Node) {
	f, ok := d.Object(value, p, "title", "colour", "token")
	if !ok {
		return nil, nil
	}
	d.Require(f, p, key, "title")
	spec := map[string]any{}
	var keyAt *yaml.Node
	for _, name := range []string{"title", "colour", "token"} {
		if pr, ok := f.Get(name); ok {
			if t, _, ok := d.Str(pr.V, p.Key(name), false); ok {
				spec[name] = t.S
				if name == "title" {
					keyAt = d.Deref(pr.V)
				}
			}
		}
	}
	return spec, keyAt
}
func (gadget) DecodeExternalID(d manifest.Doc, n *yaml.Node, p manifest.Path) (manifest.Text, bool) {
	t, _, ok := d.Str(n, p, false)
	return t, ok
}
func (gadget) NaturalKeyField() string      { return "spec.title" }
func (gadget) NaturalKeyTerm() string       { return "natural key" }
func (gadget) NaturalKeyPointers() []string { return []string{"/title"} }
func (gadget) Placeholders(spec map[string]any, name string) []manifest.Placeholder {
	if _, ok := spec["token"]; ok {
		return []manifest.Placeholder{{Env: manifest.EnvFor(name, "token"), Pointer: "/token"}}
	}
	return nil
}
func (gadget) WithoutSecrets(spec map[string]any, _ []manifest.Placeholder) (map[string]any, string) {
	spec = maps.Clone(spec)
	delete(spec, "token")
	return spec, "token is not managed."
}
func (gadget) WriteSpec(spec map[string]any, secrets, _ map[string]string) *yaml.Node {
	return manifest.ValueNode(spec, "", secrets)
}
func (gadget) IncludeParent() string                   { return "" }
func (gadget) KeyedList(string) (string, string, bool) { return "", "", false }
func (gadget) SchemaDefinitions() string               { return `    "gadgetSpec": {"type": "object"}` }
func (gadget) SchemaSpec() string                      { return "gadgetSpec" }

// Platform: one setting, the service's name; the provider is an empty
// service of that name.
func (gadget) Name() string  { return "gadget" }
func (gadget) Title() string { return "Gadget" }
func (gadget) Setup() string { return "set SYNCD_GADGET_SERVICE" }
func (gadget) Settings() []platform.Setting {
	return []platform.Setting{{Flag: "gadget-service", Env: "SYNCD_GADGET_SERVICE", Help: "Gadget service."}}
}
func (g gadget) NewProvider(cfg platform.Config) (platform.Provider, error) {
	service := cfg.Values(g.Name()).String("gadget-service")
	if service == "" {
		return nil, nil
	}
	if service != "memory" {
		return nil, fmt.Errorf("unknown gadget service %q", service)
	}
	return &gadgets{objects: map[string]map[string]any{}}, nil
}
func (gadget) EstimateRequests(specs []map[string]any) int { return len(specs) }
func (gadget) CheckBind(*syncd.Desired, syncd.Live) error  { return nil }
func (gadget) CheckImportScope(string) error               { return nil }
func (gadget) ImportScopeHelp() string                     { return "" }
func (gadget) Import(ctx context.Context, p platform.Provider, scope string, _ int) ([]platform.Imported, error) {
	live, err := p.ListAll(ctx, scope)
	out := make([]platform.Imported, len(live))
	for i, l := range live {
		out[i] = platform.Imported{Live: l}
	}
	return out, err
}

// gadgets is the Gadget service: objects in memory.
type gadgets struct {
	mu      sync.Mutex
	objects map[string]map[string]any
}

func (g *gadgets) Kind() syncd.Kind { return gadgetKind }
func (g *gadgets) Observe(_ context.Context, wants []platform.Want) (platform.Snapshot, error) {
	var s platform.Snapshot
	all, _ := g.ListAll(context.Background(), "")
	s.Objects = all
	for _, w := range wants {
		if _, ok := g.objects[w.RemoteID]; w.RemoteID != "" && !ok {
			s.Gone = append(s.Gone, w.RemoteID)
		}
	}
	return s, nil
}
func (g *gadgets) Lookup(ctx context.Context, d *syncd.Desired) ([]syncd.Live, error) {
	all, _ := g.ListAll(ctx, "")
	var out []syncd.Live
	for _, l := range all {
		if l.Spec["title"] == d.Spec["title"] {
			out = append(out, l)
		}
	}
	return out, nil
}
func (g *gadgets) Create(_ context.Context, d *syncd.Desired) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := fmt.Sprintf("g%d", len(g.objects)+1)
	g.objects[id] = maps.Clone(d.Spec)
	return id, nil
}
func (g *gadgets) Update(_ context.Context, id string, d *syncd.Desired, _ []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.objects[id] = maps.Clone(d.Spec)
	return nil
}
func (g *gadgets) Delete(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.objects, id)
	return nil
}
func (g *gadgets) ListAll(context.Context, string) ([]syncd.Live, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []syncd.Live
	for _, id := range slicesSorted(g.objects) {
		out = append(out, syncd.Live{Kind: gadgetKind, RemoteID: id, Spec: maps.Clone(g.objects[id])})
	}
	return out, nil
}
func (g *gadgets) Stats() platform.Stats { return platform.Stats{Platform: "gadget"} }

func slicesSorted(m map[string]map[string]any) []string {
	keys := make(map[string]any, len(m))
	for k := range m {
		keys[k] = nil
	}
	return manifest.SortedKeys(keys)
}

// ledger is the audit log, inventory and journal, in memory.
type ledger struct {
	mu       sync.Mutex
	events   []syncd.Event
	bindings map[syncd.Key]syncd.Binding
	intents  int64
}

func (b *ledger) Record(_ context.Context, evs ...syncd.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, evs...)
	return nil
}
func (b *ledger) Bind(_ context.Context, bd syncd.Binding) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bindings[bd.Key] = bd
	return nil
}
func (b *ledger) Unbind(_ context.Context, k syncd.Key) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.bindings, k)
	return nil
}
func (b *ledger) BeginIntent(context.Context, syncd.Intent) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.intents++
	return b.intents, nil
}
func (b *ledger) FinishIntent(context.Context, int64, string, string, string) error { return nil }
func (b *ledger) PendingIntents(context.Context) ([]syncd.Intent, error)            { return nil, nil }

// TestANewPlatformIsItsOwnFolder loads a Gadget manifest, plans it, applies
// it against the Gadget service and plans again, with the core's loader,
// planner and executor and nothing but the Gadget's own code: a new
// platform needs no edit of the core. Its secret stays out of the plan.
func TestANewPlatformIsItsOwnFolder(t *testing.T) {
	const token = "gadget-token-1234567"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "gadgets", "main.yaml"), strings.Join([]string{
		"apiVersion: syncd/v1",
		"kind: Gadget",
		"metadata:",
		"  name: main",
		"spec:",
		"  title: Main",
		"  colour: teal",
		"  token: ${env:GADGET_TOKEN}",
	}, "\n")+"\n")
	platforms := append(registry.All(), gadget{})
	opts := desired.Options{
		Getenv:    func(k string) (string, bool) { return token, k == "GADGET_TOKEN" },
		Platforms: platforms,
	}
	set, err := desired.Load(dir, opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	key := syncd.Key{Kind: gadgetKind, Name: "main"}
	d := set.Get(key)
	if d == nil {
		t.Fatalf("loaded %v, want %s", set.Resources, key)
	}
	if diff := cmp.Diff(map[string]any{"title": "Main", "colour": "teal", "token": token}, d.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/token"}, d.Sensitive); diff != "" {
		t.Errorf("sensitive (-want +got):\n%s", diff)
	}

	rules := registry.Rules()
	rules[gadgetKind] = gadget{}
	var cfg platform.Config
	cfg.Set("gadget", platform.Values{"gadget-service": "memory"})
	prov, err := gadget{}.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := prov.(*gadgets)
	books := &ledger{bindings: map[syncd.Key]syncd.Binding{}}
	hasher := syncd.NewHasher([]byte("gadget-test"))
	plan := func() *planner.Plan {
		snap, err := svc.Observe(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return planner.Build(planner.Input{
			Desired: set.Resources, Live: snap.Objects, Bindings: maps.Clone(books.bindings),
			Hasher: hasher, Rules: rules,
		})
	}

	p := plan()
	if len(p.Changes) != 1 || p.Changes[0].Action != planner.ActionCreate || p.Changes[0].NaturalKey != "Main" {
		t.Fatalf("first plan = %+v, want one create of Main", p.Changes)
	}
	var out bytes.Buffer
	if err := planner.WriteJSON(&out, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), token) {
		t.Errorf("the JSON plan carries the token:\n%s", out.String())
	}

	ex := &executor.Executor{
		Providers: map[syncd.Kind]platform.Provider{gadgetKind: svc},
		Rules:     rules, Recorder: books, Inventory: books, Journal: books, Hasher: hasher,
	}
	rep := ex.Apply(context.Background(), syncd.Run{ID: "r1", Mode: syncd.ModeApply}, p, map[syncd.Key]*syncd.Desired{key: d})
	if rep.Applied != 1 || rep.Failed != 0 {
		t.Fatalf("apply report = %+v", rep)
	}
	if diff := cmp.Diff(map[string]map[string]any{"g1": {"title": "Main", "colour": "teal", "token": token}}, svc.objects); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
	if b, ok := books.bindings[key]; !ok || b.RemoteID != "g1" {
		t.Errorf("bindings = %v, want %s bound to g1", books.bindings, key)
	}
	for _, e := range books.events {
		if strings.Contains(fmt.Sprintf("%+v", e), token) {
			t.Errorf("audit event %s carries the token", e.Type)
		}
	}

	if p := plan(); len(p.Changes) != 1 || p.Changes[0].Action != planner.ActionNoop {
		t.Errorf("second plan = %+v, want one noop", p.Changes)
	}
}

// TestANewPlatformReadsItsOwnSettings: the Gadget's NewProvider reads its
// own values from the shared Config, by its name, and no other platform's;
// nothing of the core declares its field.
func TestANewPlatformReadsItsOwnSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]platform.Values
		want     string // "nil", "provider" or the error
	}{
		{"not configured", nil, "nil"},
		{"another platform's values", map[string]platform.Values{"make": {"make-url": "memory"}}, "nil"},
		{"configured", map[string]platform.Values{"gadget": {"gadget-service": "memory"}}, "provider"},
		{"configured wrongly", map[string]platform.Values{"gadget": {"gadget-service": "disk"}}, `unknown gadget service "disk"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := gadget{}.NewProvider(platform.Config{Settings: tc.settings})
			got := "nil"
			switch {
			case err != nil:
				got = err.Error()
			case p != nil:
				got = "provider"
			}
			if got != tc.want {
				t.Errorf("NewProvider = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestANewPlatformsManifestErrors: the loader reports a bad Gadget
// manifest at file:line:col with the field, like any other kind's, and
// without the new platform the kind is unknown.
func TestANewPlatformsManifestErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	writeFile(t, file, "apiVersion: syncd/v1\nkind: Gadget\nmetadata:\n  name: bad\nspec:\n  colour: teal\n  size: 3\n")
	for _, tc := range []struct {
		name      string
		platforms []platform.Platform
		want      []string
	}{
		{
			name:      "registered",
			platforms: append(registry.All(), gadget{}),
			want: []string{
				filepath.ToSlash(file) + `:5:1: spec.title: required field is missing`,
				filepath.ToSlash(file) + `:7:3: spec.size: unknown field "size" (known fields: title, colour, token)`,
			},
		},
		{
			name: "not registered",
			want: []string{filepath.ToSlash(file) + `:2:7: kind: unknown kind "Gadget" (want ` + syncd.KindList(registry.Kinds(), " or ") + `)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := desired.Load(dir, desired.Options{Platforms: tc.platforms})
			if err == nil {
				t.Fatal("loaded a bad manifest")
			}
			var got []string
			for _, e := range set.Errors {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
