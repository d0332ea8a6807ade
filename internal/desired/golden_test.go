package desired

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	makeplatform "github.com/syncd/syncd/internal/platform/make"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and manifests/schema.json")

const manifestsDir = "../../manifests"

// exampleEnv holds the secrets the example manifests reference. The values
// are distinctive so that a test can prove they never leak.
var exampleEnv = map[string]string{
	"SHOPIFY_API_TOKEN":  "shpat_GOLDEN_LEAK_CANARY_1",
	"ACME_CLIENT_SECRET": "acme_GOLDEN_LEAK_CANARY_2",
}

// redact returns a deep copy of v with the value at every pointer replaced
// by syncd.Redacted.
func redact(v any, ptrs []string) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var c any
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	for _, p := range ptrs {
		toks := syncd.SplitPointer(p)
		cur := c
		for i, tok := range toks {
			m, ok := cur.(map[string]any)
			if !ok {
				break
			}
			if i == len(toks)-1 {
				if _, ok := m[tok]; ok {
					m[tok] = syncd.Redacted
				}
				break
			}
			cur = m[tok]
		}
	}
	return c
}

// render prints a Set the way the golden file holds it: stable, with
// secrets redacted and paths relative to dir.
func render(set *Set, dir string) string {
	var b strings.Builder
	rel := func(p string) string { return strings.TrimPrefix(p, filepath.ToSlash(dir)+"/") }
	for _, d := range set.Resources {
		fmt.Fprintf(&b, "== %s (%s:%d)\n", d.Key, rel(d.Source.File), d.Source.Line)
		pl, _ := registry.For(d.Key.Kind)
		fmt.Fprintf(&b, "natural key: %q\n", pl.NaturalKey(d.Spec))
		if d.ExternalID != "" {
			fmt.Fprintf(&b, "externalId: %s\n", d.ExternalID)
		}
		if len(d.Labels) > 0 {
			lb, _ := json.Marshal(d.Labels)
			fmt.Fprintf(&b, "labels: %s\n", lb)
		}
		fmt.Fprintf(&b, "policy: mode=%q protect=%v ignore=%q\n", d.Policy.Mode, d.Policy.Protect, d.Policy.Ignore)
		fmt.Fprintf(&b, "sensitive: %q\n", d.Sensitive)
		for _, s := range makeplatform.Sections {
			if raw, ok := d.RawSections[s]; ok {
				fmt.Fprintf(&b, "raw section %s: %d bytes, %d comment lines\n", s, len(raw), strings.Count(raw, "//"))
			}
		}
		var spec bytes.Buffer
		enc := json.NewEncoder(&spec)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(redact(d.Spec, d.Sensitive)); err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "spec: %s\n", spec.String())
	}
	b.WriteString("== files\n")
	for _, f := range set.Files {
		fmt.Fprintf(&b, "%s\n", rel(f.Path))
	}
	return b.String()
}

func TestGoldenManifests(t *testing.T) {
	set, err := Load(manifestsDir, env(exampleEnv))
	if err != nil {
		t.Fatalf("the example manifests do not load:\n%v", err)
	}
	got := render(set, manifestsDir)
	for _, secret := range exampleEnv {
		if strings.Contains(got, secret) {
			t.Fatalf("a secret value reached the golden output")
		}
	}
	golden := filepath.Join("testdata", "manifests.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("normalised manifests/ differ from %s (-want +got):\n%s", golden, diff)
	}
	// The secrets are resolved, not dropped.
	shop := set.Get(syncd.Key{Kind: syncd.PatchworksConnector, Name: "shopify-prod"})
	if v := shop.Spec["variables"].(map[string]any)["access_token"].(map[string]any)["value"]; v != exampleEnv["SHOPIFY_API_TOKEN"] {
		t.Errorf("access_token not resolved from the environment")
	}
}

// TestManifestsSchemaCopy keeps manifests/schema.json, which the examples
// name for yaml-language-server, equal to the schema syncd prints.
func TestManifestsSchemaCopy(t *testing.T) {
	path := filepath.Join(manifestsDir, "schema.json")
	if *update {
		if err := os.WriteFile(path, Schema(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Schema()) {
		t.Errorf("%s differs from the embedded schema; run go test ./internal/desired -update", path)
	}
}
