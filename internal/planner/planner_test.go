package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"int and float", 3, 3.0, true},
		{"int64 and float", int64(3), 3.0, true},
		{"json number", json.Number("3.0"), 3.0, true},
		{"different numbers", 3.0, 3.5, false},
		{"number and string", 3.0, "3", false},
		{"nil and empty map", nil, map[string]any{}, false},
		{"nested", map[string]any{"a": []any{1, "x"}}, map[string]any{"a": []any{1.0, "x"}}, true},
		{"nested differs", map[string]any{"a": []any{1, "x"}}, map[string]any{"a": []any{1.0, "y"}}, false},
		{"missing key", map[string]any{"a": nil}, map[string]any{"b": nil}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equal(tt.a, tt.b); got != tt.want {
				t.Errorf("equal(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := equal(tt.b, tt.a); got != tt.want {
				t.Errorf("equal(%v, %v) = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestComparePointers(t *testing.T) {
	got := []string{"/x/10", "/b", "/x/2", "/a/b", "/a", "/x/a"}
	want := []string{"/a", "/a/b", "/b", "/x/2", "/x/10", "/x/a"}
	for i := range got {
		for j := i + 1; j < len(got); j++ {
			if comparePointers(got[j], got[i]) < 0 {
				got[i], got[j] = got[j], got[i]
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// TestNumbersNotFakeDrift checks that a section diffed by the differ does
// not report 3 -> 3 when one side holds an int (as YAML decoders give).
func TestNumbersNotFakeDrift(t *testing.T) {
	d := &syncd.Desired{
		Key: syncd.Key{Kind: syncd.MakeConnection, Name: "a"},
		Spec: map[string]any{"app": "x", "type": "oauth", "label": "L",
			"sections": map[string]any{"parameters": []any{map[string]any{"n": 3, "label": "new"}}}},
	}
	l := syncd.Live{Kind: syncd.MakeConnection, RemoteID: "x", Spec: map[string]any{"app": "x", "type": "oauth", "label": "L",
		"sections": map[string]any{"parameters": []any{map[string]any{"n": 3.0, "label": "old"}}}}}
	p := Build(Input{Rules: testRules, Desired: []*syncd.Desired{d}, Live: []syncd.Live{l}, Hasher: testHasher,
		Bindings: map[syncd.Key]syncd.Binding{d.Key: {Key: d.Key, RemoteID: "x"}}})
	want := []syncd.FieldChange{{Path: "/sections/parameters/0/label", Before: "old", After: "new"}}
	if diff := cmp.Diff(want, p.Changes[0].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestNoSecretInAnyFormat renders a plan whose secrets changed in Make
// common data (by name, nested, live-only, and a common reported whole),
// in a section (${env:}), and in Patchworks variables (write-only, and a
// whole new secret variable), in every format, full and cut, and looks for
// the secrets and their hashes.
func TestNoSecretInAnyFormat(t *testing.T) {
	in, secrets := loadScenario(t, "testdata/scenarios/secrets")
	if len(secrets) < 10 {
		t.Fatalf("scenario lists %d secrets", len(secrets))
	}
	p := Build(in)
	if p.Summary.Update != 3 {
		t.Fatalf("want 3 updates, got %+v", p.Summary)
	}
	outs := renderAll(t, p)
	for _, limit := range []int{2000, 800} {
		outs[fmt.Sprintf("markdown cut to %d", limit)] = markdown(p, MarkdownOptions{}, limit)
	}
	var fields bytes.Buffer
	for _, c := range p.Changes {
		fmt.Fprintf(&fields, "%#v\n", c)
	}
	outs["changes (Go values)"] = fields.String()
	for name, text := range outs {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows secret %q", name, s)
			}
			if strings.Contains(text, testHasher.Hash(s)) {
				t.Errorf("%s shows the hash of secret %q", name, s)
			}
		}
	}
	// The whole-object reports are there, and redacted inside.
	if !strings.Contains(outs["plan.json"], `"path": "/variables/signing_key"`) ||
		!strings.Contains(outs["plan.json"], `"path": "/common"`) {
		t.Errorf("the scenario no longer reports a parent object whole:\n%s", outs["plan.json"])
	}
}

func bigPlan(n, fieldsPer, valueLen int) *Plan {
	p := &Plan{}
	for i := range n {
		c := Change{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: fmt.Sprintf("c-%05d", i)},
			Action: ActionUpdate, RemoteID: fmt.Sprint(i), Drift: true}
		for j := range fieldsPer {
			c.Fields = append(c.Fields, syncd.FieldChange{
				Path: fmt.Sprintf("/variables/v%d/value", j), Before: strings.Repeat("a|`", valueLen/3), After: strings.Repeat("b", valueLen)})
		}
		p.Changes = append(p.Changes, c)
	}
	p.Summary = Summarize(p.Changes)
	return p
}

func TestMarkdownLimit(t *testing.T) {
	tests := []struct {
		name      string
		plan      *Plan
		wantNote  []string
		wantLines bool // every resource keeps its line
	}{
		{"fits", bigPlan(3, 2, 20), nil, true},
		{"long values shortened", bigPlan(20, 2, 3000), []string{"shortened"}, true},
		{"tables dropped", bigPlan(300, 10, 300), []string{"shortened", "field tables of the last"}, true},
		{"lines dropped", bigPlan(2000, 1, 10), []string{"more resource(s) not shown", "are not listed"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMarkdown(&b, tt.plan, MarkdownOptions{}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if len(out) > MarkdownLimit {
				t.Errorf("markdown is %d bytes, limit %d", len(out), MarkdownLimit)
			}
			if !strings.Contains(out, "| create | update |") {
				t.Error("summary table missing")
			}
			if tt.wantNote == nil && strings.Contains(out, "was cut") {
				t.Error("a plan that fits says it was cut")
			}
			for _, n := range tt.wantNote {
				if !strings.Contains(out, n) {
					t.Errorf("note %q missing", n)
				}
			}
			if tt.wantLines {
				for _, c := range tt.plan.Changes {
					if !strings.Contains(out, "<b>"+c.Key.String()+"</b>") {
						t.Fatalf("%s lost its line", c.Key)
					}
				}
			}
			if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
				t.Error("unbalanced <details>")
			}
		})
	}
}

func TestMarkdownEscaping(t *testing.T) {
	p := &Plan{Changes: []Change{{
		Key: syncd.Key{Kind: syncd.MakeConnection, Name: "x"}, Action: ActionUpdate, RemoteID: "<b>",
		Fields: []syncd.FieldChange{{Path: "/label", Before: "a|b", After: "``x``"}},
	}}}
	p.Summary = Summarize(p.Changes)
	out := markdown(p, MarkdownOptions{}, MarkdownLimit)
	for _, want := range []string{`"a\|b"`, "``` \"``x``\" ```", "<code>&lt;b&gt;</code>"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}
}

func TestDefaultMaxDelete(t *testing.T) {
	for _, tt := range []struct{ inv, want int }{{0, 5}, {49, 5}, {60, 6}, {1000, 100}} {
		if got := DefaultMaxDelete(tt.inv); got != tt.want {
			t.Errorf("DefaultMaxDelete(%d) = %d, want %d", tt.inv, got, tt.want)
		}
	}
}

func validPlanFile(t testing.TB) string {
	t.Helper()
	in, _ := loadScenario(t, "testdata/scenarios/update")
	var b bytes.Buffer
	if err := WritePlanFile(&b, Build(in), goldenMeta); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReadPlanFileErrors(t *testing.T) {
	good := validPlanFile(t)
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(good), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	change := func(m map[string]any) map[string]any { return m["changes"].([]any)[0].(map[string]any) }
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "not a syncd plan"},
		{"not json", "plan", "not a syncd plan"},
		{"array", "[]", "not a syncd plan"},
		{"no version", `{}`, "no syncd_plan_version"},
		{"newer version", `{"syncd_plan_version": 2}`, "syncd_plan_version 2 is not supported"},
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 }), `unknown field "extra"`},
		{"trailing data", good + "{}", "after top-level value"},
		{"no created_at", edit(func(m map[string]any) { delete(m, "created_at") }), "created_at is missing"},
		{"bad kind", edit(func(m map[string]any) { change(m)["kind"] = "Nope" }), `kind "Nope"`},
		{"bad action", edit(func(m map[string]any) { change(m)["action"] = "explode" }), `action "explode"`},
		{"noop saved", edit(func(m map[string]any) { change(m)["action"] = "noop" }), "noop changes are not saved"},
		{"update without remote id", edit(func(m map[string]any) { change(m)["remote_id"] = "" }), "needs a remote_id"},
		{"bad fingerprint", edit(func(m map[string]any) { change(m)["live_fingerprint"] = "x" }), "live_fingerprint"},
		{"bad desired hash", edit(func(m map[string]any) { change(m)["desired_hash"] = "" }), "desired_hash"},
		{"secret in file", edit(func(m map[string]any) {
			f := change(m)["fields"].([]any)[0].(map[string]any)
			f["sensitive"], f["after"] = true, "hunter2"
		}), "a sensitive field may only read"},
		{"bad path", edit(func(m map[string]any) {
			change(m)["fields"].([]any)[0].(map[string]any)["path"] = "label"
		}), "not a JSON pointer"},
		{"unsorted", edit(func(m map[string]any) {
			cs := m["changes"].([]any)
			cs[0], cs[1] = cs[1], cs[0]
		}), "not sorted"},
		{"summary mismatch", edit(func(m map[string]any) { m["summary"].(map[string]any)["update"] = 5.0 }), "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadPlanFile(strings.NewReader(tt.file), testKinds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the value: %v", err)
			}
		})
	}
}

func TestWritePlanFileNeedsMeta(t *testing.T) {
	if err := WritePlanFile(&bytes.Buffer{}, &Plan{}, PlanFileMeta{}); err == nil {
		t.Error("a plan file without created_at was written")
	}
}

func FuzzReadPlanFile(f *testing.F) {
	f.Add(validPlanFile(f))
	f.Add(`{"syncd_plan_version": 1}`)
	f.Add(`{"syncd_plan_version": 1, "created_at": "2026-01-01T00:00:00Z", "manifests_digest": "x", "changes": [{}]}`)
	f.Add("[1,2")
	f.Fuzz(func(t *testing.T, data string) {
		p, meta, err := ReadPlanFile(strings.NewReader(data), testKinds)
		if err != nil {
			return
		}
		// What reads must write and read back the same.
		var b bytes.Buffer
		if err := WritePlanFile(&b, p, meta); err != nil {
			t.Fatalf("re-write: %v", err)
		}
		p2, meta2, err := ReadPlanFile(&b, testKinds)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Errorf("round trip:\n%s", diff)
		}
		if !meta.CreatedAt.Equal(meta2.CreatedAt) || meta.ManifestsDigest != meta2.ManifestsDigest {
			t.Errorf("meta round trip: %+v vs %+v", meta, meta2)
		}
	})
}

// TestCreateListsFieldsWithoutSecrets: a create shows what it will set, and
// the same secrets as the secrets scenario stay hidden when nothing live
// exists yet.
func TestCreateListsFieldsWithoutSecrets(t *testing.T) {
	in, secrets := loadScenario(t, "testdata/scenarios/secrets")
	in.Live, in.Bindings = nil, nil
	p := Build(in)
	if p.Summary.Create != len(in.Desired) {
		t.Fatalf("want %d creates, got %+v", len(in.Desired), p.Summary)
	}
	for _, c := range p.Changes {
		if len(c.Fields) == 0 {
			t.Errorf("%s: a create lists no fields", c.Key)
		}
		for _, f := range c.Fields {
			if f.Before != nil {
				t.Errorf("%s %s: before = %v, want null", c.Key, f.Path, f.Before)
			}
		}
	}
	for name, text := range renderAll(t, p) {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows secret %q", name, s)
			}
		}
	}
}

// TestKindWithoutRulesIsAnError checks that the planner has no fallback
// comparison: a resource whose kind has no rules in the input is planned
// as an error (nothing written), never compared field by field or created.
func TestKindWithoutRulesIsAnError(t *testing.T) {
	d := pwDesired("a", "A", "")
	l := pwLive("1", "A")
	l.Spec["timezone"] = "Europe/London"
	only := map[syncd.Kind]syncd.Rules{syncd.MakeConnection: testRules[syncd.MakeConnection]}
	p := Build(Input{Rules: only, Desired: []*syncd.Desired{d}, Live: []syncd.Live{l}, Hasher: testHasher,
		Bindings: map[syncd.Key]syncd.Binding{d.Key: {Key: d.Key, RemoteID: "1"}}})
	want := []Change{{Key: d.Key, Action: ActionNoop, Error: "no platform registered for kind PatchworksConnector",
		DesiredHash: p.Changes[0].DesiredHash}}
	if diff := cmp.Diff(want, p.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if p.HasChanges() {
		t.Error("a kind without rules would write")
	}
}

func TestMarkdownMarkerNotesAndLoadErrors(t *testing.T) {
	longValue := strings.Repeat("x", 5000)
	update := Change{
		Key: syncd.Key{Kind: syncd.MakeConnection, Name: "long"}, Action: ActionUpdate, RemoteID: "r1",
		Fields: []syncd.FieldChange{{Path: "/sections/api", Before: "short", After: longValue}},
	}
	tests := []struct {
		name    string
		plan    *Plan
		opts    MarkdownOptions
		want    []string
		notWant []string
	}{
		{
			name: "default marker first",
			plan: &Plan{},
			want: []string{"<!-- syncd:plan -->\n### syncd plan"},
		},
		{
			name: "comment id",
			plan: &Plan{},
			opts: MarkdownOptions{CommentID: "infra/make"},
			want: []string{"<!-- syncd:plan:infra/make -->\n"},
		},
		{
			name:    "no database note once",
			plan:    &Plan{NoInventory: true},
			want:    []string{"> **Note:** planned without a database", "renamed natural key cannot be followed", "write-only secrets are not compared"},
			notWant: []string{"shortened"},
		},
		{
			name: "load errors listed",
			plan: &Plan{LoadFailed: true},
			opts: MarkdownOptions{LoadErrors: []string{"crm.yaml:7:9: spec.type: \"oauth2\" is not one of oauth", "x.yaml:1:1: ```fence"}},
			want: []string{"a manifest failed to load", "crm.yaml:7:9: spec.type: \"oauth2\" is not one of oauth\n", "````\n"},
		},
		{
			name:    "long values cut, JSON has them",
			plan:    &Plan{Changes: []Change{update}},
			want:    []string{"… (4802 more characters)", "`syncd plan --format json` shows them whole"},
			notWant: []string{longValue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.plan.Summary = Summarize(tt.plan.Changes)
			var b bytes.Buffer
			if err := WriteMarkdown(&b, tt.plan, tt.opts); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasPrefix(out, MarkdownMarker(tt.opts.CommentID)+"\n") {
				t.Errorf("the marker is not the first line:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("do not want %.40q in the output", w)
				}
			}
			if n := strings.Count(out, "planned without a database"); tt.plan.NoInventory && n != 1 {
				t.Errorf("the no-database note appears %d times", n)
			}
		})
	}
	var js bytes.Buffer
	p := &Plan{Changes: []Change{update}}
	if err := WriteJSON(&js, p); err != nil || !strings.Contains(js.String(), longValue) {
		t.Errorf("the JSON plan does not hold the whole value (err %v)", err)
	}
}

func TestMarkdownLimitWithManyLoadErrors(t *testing.T) {
	var errs []string
	for i := range 5000 {
		errs = append(errs, fmt.Sprintf("m%04d.yaml:1:1: %s", i, strings.Repeat("bad ", 200)))
	}
	p := bigPlan(2000, 3, 100)
	p.LoadFailed = true
	var b bytes.Buffer
	if err := WriteMarkdown(&b, p, MarkdownOptions{LoadErrors: errs}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > MarkdownLimit {
		t.Errorf("markdown is %d bytes, limit %d", len(out), MarkdownLimit)
	}
	for _, want := range []string{"m0000.yaml:1:1: bad", "… and 4950 more (see the CI log)", "this plan was cut to fit"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q", want)
		}
	}
}

func TestCommentIDValidation(t *testing.T) {
	for id, ok := range map[string]bool{
		"infra": true, "infra/make-eu.1": true, "a_b": true,
		"": false, "x-->y": false, "a--b": false, "a b": false, "<x>": false, strings.Repeat("a", 101): false,
	} {
		if got := ValidCommentID(id); got != ok {
			t.Errorf("ValidCommentID(%q) = %v, want %v", id, got, ok)
		}
	}
	if err := WriteMarkdown(&bytes.Buffer{}, &Plan{}, MarkdownOptions{CommentID: "x -->"}); err == nil {
		t.Error("a comment id that ends the HTML comment was accepted")
	}
}

// TestSummaryCountsEveryWrite: an adopt that writes fields counts as an
// update too, in the summary every format prints.
func TestSummaryCountsEveryWrite(t *testing.T) {
	f := []syncd.FieldChange{{Path: "/label", Before: "a", After: "b"}}
	changes := []Change{
		{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "a"}, Action: ActionAdopt},
		{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "b"}, Action: ActionAdopt, Fields: f},
		{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "c"}, Action: ActionUpdate, Fields: f},
	}
	got := Summarize(changes)
	want := Summary{Update: 2, Adopt: 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("summary (-want +got):\n%s", diff)
	}
	p := &Plan{Changes: changes, Summary: got}
	var text, md, js bytes.Buffer
	if err := WriteText(&text, p, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, p, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	line := "Plan: 0 to create, 2 to update, 0 to replace, 0 to delete, 2 to adopt."
	if !strings.Contains(text.String(), line) || !strings.Contains(md.String(), line) || !strings.Contains(md.String(), "| 0 | 2 | 0 | 0 | 2 | 0 | 0 |") {
		t.Errorf("text or Markdown summary is not %q:\n%s\n%s", line, text.String(), md.String())
	}
	if !strings.Contains(js.String(), `"update": 2`) {
		t.Errorf("JSON summary:\n%s", js.String())
	}
}
