package planner

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/scenarios")

// testHasher is the key every golden plan is hashed with, so that the
// hashes in planfile.json are stable.
var testHasher = syncd.NewHasher([]byte("golden-test-key"))

// testRules are the registered platforms' rules, as the engine passes them.
var (
	testRules = registry.Rules()
	testKinds = registry.Kinds()
)

// scenario is the JSON form of a planner Input used by the golden tests
// (testdata/scenarios/<name>/input.json).
type scenario struct {
	Desired []struct {
		Kind        syncd.Kind        `json:"kind"`
		Name        string            `json:"name"`
		ExternalID  string            `json:"externalId"`
		Policy      scenarioPolicy    `json:"policy"`
		Spec        map[string]any    `json:"spec"`
		Sensitive   []string          `json:"sensitive"`
		RawSections map[string]string `json:"raw_sections"`
	} `json:"desired"`
	Live []struct {
		Kind     syncd.Kind     `json:"kind"`
		RemoteID string         `json:"remote_id"`
		Spec     map[string]any `json:"spec"`
	} `json:"live"`
	Gone     map[syncd.Kind][]string `json:"gone"`
	Bindings []struct {
		Kind     syncd.Kind `json:"kind"`
		Name     string     `json:"name"`
		RemoteID string     `json:"remote_id"`
		// HashOf gives the values last applied at each pointer; the test
		// hashes them, as the executor does.
		HashOf map[string]any `json:"hash_of"`
	} `json:"bindings"`
	Prune           bool     `json:"prune"`
	NoInventory     bool     `json:"no_inventory"`
	LoadFailed      bool     `json:"load_failed"`
	MaxDelete       int      `json:"max_delete"`
	AllowMassDelete bool     `json:"allow_mass_delete"`
	Scope           []string `json:"scope"`
	// Secrets are values that must not appear in any rendered output.
	Secrets []string `json:"secrets"`
}

type scenarioPolicy struct {
	Mode    syncd.Mode `json:"mode"`
	Protect bool       `json:"protect"`
	Ignore  []string   `json:"ignore"`
}

func loadScenario(t testing.TB, dir string) (Input, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s scenario
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s/input.json: %v", dir, err)
	}
	in := Input{Rules: testRules,
		Gone: s.Gone, Bindings: map[syncd.Key]syncd.Binding{}, Hasher: testHasher,
		Prune: s.Prune, NoInventory: s.NoInventory, LoadFailed: s.LoadFailed, MaxDelete: s.MaxDelete, AllowMassDelete: s.AllowMassDelete,
	}
	for _, d := range s.Desired {
		in.Desired = append(in.Desired, &syncd.Desired{
			Key: syncd.Key{Kind: d.Kind, Name: d.Name}, ExternalID: d.ExternalID,
			Policy: syncd.Policy{Mode: d.Policy.Mode, Protect: d.Policy.Protect, Ignore: d.Policy.Ignore},
			Spec:   d.Spec, Sensitive: d.Sensitive, RawSections: d.RawSections,
		})
	}
	for _, l := range s.Live {
		in.Live = append(in.Live, syncd.Live{Kind: l.Kind, RemoteID: l.RemoteID, Spec: l.Spec})
	}
	for _, b := range s.Bindings {
		k := syncd.Key{Kind: b.Kind, Name: b.Name}
		bd := syncd.Binding{Key: k, RemoteID: b.RemoteID}
		if len(b.HashOf) > 0 {
			bd.Hashes = map[string]string{}
			for ptr, v := range b.HashOf {
				bd.Hashes[ptr] = testHasher.Hash(v)
			}
		}
		in.Bindings[k] = bd
	}
	if s.Scope != nil {
		in.Scope = []syncd.Key{}
		for _, k := range s.Scope {
			key, err := syncd.ParseKey(k, testKinds)
			if err != nil {
				t.Fatal(err)
			}
			in.Scope = append(in.Scope, key)
		}
	}
	return in, s.Secrets
}

var goldenMeta = PlanFileMeta{
	CreatedAt:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	ManifestsDigest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	Prune:           true,
}

// renderAll renders p in every format, keyed by golden file name.
func renderAll(t testing.TB, p *Plan) map[string]string {
	t.Helper()
	out := map[string]string{}
	var b bytes.Buffer
	if err := WriteText(&b, p, false); err != nil {
		t.Fatal(err)
	}
	out["plan.txt"] = b.String()
	b.Reset()
	if err := WriteText(&b, p, true); err != nil {
		t.Fatal(err)
	}
	out["color"] = b.String()
	b.Reset()
	if err := WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	out["plan.json"] = b.String()
	b.Reset()
	if err := WriteMarkdown(&b, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	out["plan.md"] = b.String()
	b.Reset()
	if err := WritePlanFile(&b, p, goldenMeta); err != nil {
		t.Fatal(err)
	}
	out["planfile.json"] = b.String()
	return out
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in, secrets := loadScenario(t, dir)
			p := Build(in)
			out := renderAll(t, p)

			for name, text := range out {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s shows secret %q", name, s)
					}
					if h := testHasher.Hash(s); strings.Contains(text, h) {
						t.Errorf("%s shows the hash of secret %q", name, s)
					}
				}
			}
			// A saved plan reads back as the plan it was written from.
			back, meta, err := ReadPlanFile(strings.NewReader(out["planfile.json"]), testKinds)
			if err != nil {
				t.Fatalf("ReadPlanFile: %v", err)
			}
			if diff := cmp.Diff(goldenMeta, meta); diff != "" {
				t.Errorf("plan file meta (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(savedOnly(p), back); diff != "" {
				t.Errorf("plan file round trip (-want +got):\n%s", diff)
			}
			// The same input plans the same way every time.
			if diff := cmp.Diff(p, Build(in)); diff != "" {
				t.Errorf("Build is not deterministic:\n%s", diff)
			}

			for _, name := range []string{"plan.txt", "plan.json", "plan.md", "planfile.json"} {
				path := filepath.Join(dir, name)
				if *update {
					if err := os.WriteFile(path, []byte(out[name]), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), out[name]); diff != "" {
					t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
				}
			}
		})
	}
}

// savedOnly is p as a plan file keeps it: the noop changes left out, and
// field values as JSON decodes them.
func savedOnly(p *Plan) *Plan {
	out := &Plan{LoadFailed: p.LoadFailed, NoInventory: p.NoInventory, Summary: p.Summary, Changes: []Change{}}
	for _, c := range p.Changes {
		if c.Action == ActionNoop {
			continue
		}
		c.Error = ""
		if c.Fields == nil {
			c.Fields = []syncd.FieldChange{}
		}
		c.Fields = roundTripJSON(c.Fields)
		out.Changes = append(out.Changes, c)
	}
	return out
}

func roundTripJSON(fs []syncd.FieldChange) []syncd.FieldChange {
	b, _ := json.Marshal(fs)
	var out []syncd.FieldChange
	_ = json.Unmarshal(b, &out)
	return out
}
