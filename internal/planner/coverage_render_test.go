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

// unmanagedFixture: two Make apps (the first with two objects), and a
// Patchworks object still in the inventory whose rules give no heading.
func unmanagedFixture() *Coverage {
	return &Coverage{Managed: 1, Unmanaged: []Unmanaged{
		{Kind: syncd.MakeConnection, Group: "app-one", RemoteID: "c2", Name: "Two *b*", Heading: "Make app app-one"},
		{Kind: syncd.MakeConnection, Group: "app-one", RemoteID: "c3", Name: `Three "q"`, Heading: "Make app app-one"},
		{Kind: syncd.MakeConnection, Group: "app-two", RemoteID: "c4", Name: "Four", Heading: "Make app app-two"},
		{Kind: syncd.PatchworksConnector, RemoteID: "8", Name: "Stray", Bound: "PatchworksConnector/gone"},
	}}
}

// TestUnmanagedListText pins what plan --show-unmanaged prints after a
// text plan: the coverage line, then each platform and Make app's objects
// with remote id and name, the one --prune would delete marked so.
func TestUnmanagedListText(t *testing.T) {
	tests := []struct {
		name string
		cov  *Coverage
		want string
	}{
		{"not counted", nil, "\nUnmanaged objects: not counted for a partial plan or while a manifest fails to load.\n"},
		{"none", &Coverage{Managed: 3}, "\nCoverage: 3 managed, 0 unmanaged live object(s) (100.0% managed).\n" +
			"Every listed live object is declared by a manifest.\n"},
		{"grouped", unmanagedFixture(), "\nCoverage: 1 managed, 4 unmanaged live object(s) (20.0% managed).\n" +
			"Live objects no manifest declares (syncd never changes or deletes them):\n" +
			"\n  Make app app-one:\n" +
			"    c2  \"Two *b*\"\n" +
			"    c3  \"Three \\\"q\\\"\"\n" +
			"\n  Make app app-two:\n" +
			"    c4  \"Four\"\n" +
			"\n  PatchworksConnector:\n" +
			"    8  \"Stray\"  (in the inventory as PatchworksConnector/gone, whose manifest is gone: --prune deletes it)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteUnmanagedText(&b, &Plan{Coverage: tt.cov}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnmanagedListMarkdown pins the same list in the Markdown plan: the
// coverage line, then one collapsible table per platform and Make app,
// with the text escaped.
func TestUnmanagedListMarkdown(t *testing.T) {
	table := "| remote id | name | note |\n| --- | --- | --- |\n"
	tests := []struct {
		name string
		cov  *Coverage
		want string
	}{
		{"not counted", nil, "**Unmanaged objects:** not counted for a partial plan or while a manifest fails to load.\n\n"},
		{"none", &Coverage{Managed: 3}, "**Coverage: 3 managed, 0 unmanaged live object(s) (100.0% managed).**\n\n"},
		{"grouped", unmanagedFixture(), "**Coverage: 1 managed, 4 unmanaged live object(s) (20.0% managed).**\n\n" +
			"<details><summary>Unmanaged: Make app app-one (2)</summary>\n\n" + table +
			"| `c2` | Two \\*b\\* |  |\n" +
			"| `c3` | Three \"q\" |  |\n" +
			"\n</details>\n\n" +
			"<details><summary>Unmanaged: Make app app-two (1)</summary>\n\n" + table +
			"| `c4` | Four |  |\n" +
			"\n</details>\n\n" +
			"<details><summary>Unmanaged: PatchworksConnector (1)</summary>\n\n" + table +
			"| `8` | Stray | in the inventory as PatchworksConnector/gone (manifest gone) |\n" +
			"\n</details>\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{Coverage: tt.cov}
			var b bytes.Buffer
			if err := WriteMarkdown(&b, p, MarkdownOptions{ShowUnmanaged: true}); err != nil {
				t.Fatal(err)
			}
			head := markdown(p, MarkdownOptions{}, MarkdownLimit)
			want := head + tt.want
			if diff := cmp.Diff(want, b.String()); diff != "" {
				t.Errorf("markdown (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnmanagedListJSON: the JSON plan counts coverage in its summary and
// per platform, and lists the unmanaged objects only when asked.
func TestUnmanagedListJSON(t *testing.T) {
	cov := unmanagedFixture()
	cov.ByPlatform = map[syncd.Kind]PlatformCoverage{syncd.MakeConnection: {Managed: 1, Unmanaged: 3}, syncd.PatchworksConnector: {Unmanaged: 1}}
	type doc struct {
		Summary            map[string]int            `json:"summary"`
		CoverageByPlatform map[string]map[string]int `json:"coverage_by_platform"`
		UnmanagedObjects   []map[string]string       `json:"unmanaged_objects"`
	}
	for _, show := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteJSONWith(&b, &Plan{Coverage: cov}, JSONOptions{ShowUnmanaged: show}); err != nil {
			t.Fatal(err)
		}
		var got doc
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		want := doc{
			Summary: map[string]int{"create": 0, "update": 0, "replace": 0, "delete": 0, "adopt": 0, "noop": 0, "blocked": 0,
				"managed": 1, "unmanaged": 4, "coverage_percent": 20},
			CoverageByPlatform: map[string]map[string]int{
				string(syncd.MakeConnection):      {"managed": 1, "unmanaged": 3},
				string(syncd.PatchworksConnector): {"managed": 0, "unmanaged": 1},
			},
		}
		if show {
			want.UnmanagedObjects = []map[string]string{
				{"kind": string(syncd.MakeConnection), "make_app": "app-one", "remote_id": "c2", "name": "Two *b*"},
				{"kind": string(syncd.MakeConnection), "make_app": "app-one", "remote_id": "c3", "name": `Three "q"`},
				{"kind": string(syncd.MakeConnection), "make_app": "app-two", "remote_id": "c4", "name": "Four"},
				{"kind": string(syncd.PatchworksConnector), "remote_id": "8", "name": "Stray", "bound": "PatchworksConnector/gone"},
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("show unmanaged %v (-want +got):\n%s", show, diff)
		}
	}
}

func manyUnmanaged(groups, each, nameLen int) *Coverage {
	c := &Coverage{}
	for g := range groups {
		for i := range each {
			c.Unmanaged = append(c.Unmanaged, Unmanaged{Kind: syncd.MakeConnection, Group: fmt.Sprintf("app-%d", g),
				RemoteID: fmt.Sprintf("g%d-%03d", g, i), Name: fmt.Sprintf("n%d-%03d ", g, i) + strings.Repeat("x", nameLen),
				Heading: fmt.Sprintf("Make app app-%d", g)})
		}
	}
	return c
}

// TestUnmanagedMarkdownStopsAt200: the Markdown plan lists at most 200
// unmanaged objects, wherever the 200th falls, and says that there are
// more and where to see them all.
func TestUnmanagedMarkdownStopsAt200(t *testing.T) {
	tests := []struct {
		name          string
		groups, each  int
		wantSummaries int
		wantMore      bool
	}{
		{"200 in two groups", 2, 100, 2, false},
		{"300 in three groups", 3, 100, 2, true},
		{"250 in one group", 1, 250, 1, true},
		{"201 in 201 groups", 201, 1, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cov := manyUnmanaged(tt.groups, tt.each, 5)
			out := markdownUnmanaged(cov)
			rows := strings.Count(out, "| `g")
			if want := min(200, len(cov.Unmanaged)); rows != want {
				t.Errorf("%d rows listed, want %d", rows, want)
			}
			if n := strings.Count(out, "<details><summary>Unmanaged:"); n != tt.wantSummaries {
				t.Errorf("%d groups listed, want %d", n, tt.wantSummaries)
			}
			more := fmt.Sprintf("… and more unmanaged objects: `syncd plan --show-unmanaged --format json` lists all %d.", len(cov.Unmanaged))
			if got := strings.Contains(out, more); got != tt.wantMore {
				t.Errorf("says there are more: %v, want %v\n%s", got, tt.wantMore, out[max(0, len(out)-500):])
			}
		})
	}
}

// TestUnmanagedMarkdownStaysWithinTheLimit: long names and remote ids are
// cut at 200 characters, like the values in the plan's tables, and the list
// stops early rather than push the comment over GitHub's limit.
func TestUnmanagedMarkdownStaysWithinTheLimit(t *testing.T) {
	cov := manyUnmanaged(4, 60, 5000)
	for i := range cov.Unmanaged {
		cov.Unmanaged[i].RemoteID += strings.Repeat("9", 5000)
		cov.Unmanaged[i].Bound = "MakeConnection/" + strings.Repeat("b", 5000)
	}
	p := bigPlan(3, 2, 20)
	p.Coverage = cov
	var b bytes.Buffer
	if err := WriteMarkdown(&b, p, MarkdownOptions{ShowUnmanaged: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > MarkdownLimit {
		t.Errorf("markdown is %d bytes, limit %d", len(out), MarkdownLimit)
	}
	for _, w := range []string{
		"| `g0-000" + strings.Repeat("9", markdownValueLimit-6) + "…` | n0-000 " + strings.Repeat("x", markdownValueLimit-7) + "… | in the inventory as MakeConnection/" + strings.Repeat("b", markdownValueLimit-15) + "… (manifest gone) |\n",
		"lists all 240.",
		"<b>PatchworksConnector/c-00002</b>",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("want %.300q in the comment", w)
		}
	}
}

// TestUnmanagedMarkdownCutsAtExactly200: a name, remote id or heading of
// 200 characters is shown whole; of 201, cut to 200 and marked.
func TestUnmanagedMarkdownCutsAtExactly200(t *testing.T) {
	for _, n := range []int{markdownValueLimit, markdownValueLimit + 1} {
		s := strings.Repeat("é", n)
		cov := &Coverage{Unmanaged: []Unmanaged{{Kind: syncd.MakeConnection, RemoteID: s, Name: s, Bound: s, Heading: s}}}
		out := markdownUnmanaged(cov)
		shown := strings.Repeat("é", min(n, markdownValueLimit))
		if n > markdownValueLimit {
			shown += "…"
		}
		for _, w := range []string{
			"<details><summary>Unmanaged: " + shown + " (1)</summary>",
			"| `" + shown + "` | " + shown + " | in the inventory as " + shown + " (manifest gone) |\n",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("%d characters: want %.80q… in\n%s", n, w, out)
			}
		}
	}
}

// TestUnmanagedMarkdownStopsAtItsByteBound: the list stops as soon as it
// reaches its 32 KiB bound, not one object later.
func TestUnmanagedMarkdownStopsAtItsByteBound(t *testing.T) {
	cov := &Coverage{}
	for i := range mdUnmanagedRows {
		cov.Unmanaged = append(cov.Unmanaged, Unmanaged{Kind: syncd.PatchworksConnector, RemoteID: fmt.Sprintf("u%03d", i), Name: strings.Repeat("x", 180)})
	}
	start := func(out string, i int) int { return strings.Index(out, fmt.Sprintf("| `u%03d` |", i)) }
	out := markdownUnmanaged(cov)
	// j: the last object that starts below the bound.
	j := 0
	for i := range cov.Unmanaged {
		if s := start(out, i); s >= 0 && s < mdUnmanagedBytes {
			j = i
		}
	}
	if j == 0 || j == mdUnmanagedRows-1 {
		t.Fatalf("the bound is not reached inside the list (object %d)", j)
	}
	// Lengthen the names before it so that it starts exactly at the bound.
	for i, delta := 0, mdUnmanagedBytes-start(out, j); delta > 0; i++ {
		add := min(delta, markdownValueLimit-len(cov.Unmanaged[i].Name))
		cov.Unmanaged[i].Name += strings.Repeat("x", add)
		delta -= add
	}
	out = markdownUnmanaged(cov)
	if s := start(out, j); s != -1 {
		t.Errorf("object %d starts at byte %d, at or past the bound of %d, and is listed", j, s, mdUnmanagedBytes)
	}
	if s := start(out, j-1); s == -1 {
		t.Errorf("object %d, below the bound, is not listed", j-1)
	}
	if !strings.Contains(out, "lists all 200.") {
		t.Error("the list does not say there are more")
	}
}
