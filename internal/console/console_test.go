package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/audit"
	"github.com/syncd/syncd/internal/console"
	"github.com/syncd/syncd/internal/planner"
	"github.com/syncd/syncd/internal/syncd"
)

// leaked is a value the fakes put where a redacted one belongs: the console
// must show (sensitive) for a sensitive field whatever it holds.
const leaked = "leaked-secret-value-ZZZZ"

var (
	t0    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	alpha = syncd.Key{Kind: syncd.MakeConnection, Name: "alpha"}
	beta  = syncd.Key{Kind: syncd.MakeConnection, Name: "beta"}
	shop  = syncd.Key{Kind: syncd.PatchworksConnector, Name: "shop"}
	gamma = syncd.Key{Kind: syncd.PatchworksConnector, Name: "gamma"}
)

type fakeStatus struct{ st console.Status }

func (f fakeStatus) ConsoleStatus() console.Status { return f.st }

// fakeStore is an in-memory Store; err, when set, fails every query.
type fakeStore struct {
	events  []audit.StoredEvent
	drifts  []audit.Drift     // oldest first
	runs    []syncd.RunRecord // newest first
	touched map[string][]syncd.Key
	err     error
}

func (f *fakeStore) Events(_ context.Context, flt audit.Filter) ([]audit.StoredEvent, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []audit.StoredEvent
	for _, e := range f.events {
		if flt.Key == nil || (e.Event.Kind == flt.Key.Kind && e.Event.Name == flt.Key.Name) {
			out = append(out, e)
		}
	}
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[len(out)-flt.Limit:]
	}
	return out, nil
}

func (f *fakeStore) DriftHistory(_ context.Context, key syncd.Key) ([]audit.Drift, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []audit.Drift
	for _, d := range f.drifts {
		if d.Key == key {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeStore) OpenDrifts(context.Context) ([]audit.Drift, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []audit.Drift
	for _, d := range f.drifts {
		if d.Resolution == "" {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeStore) Runs(_ context.Context, offset, limit int) ([]syncd.RunRecord, int, error) {
	if f.err != nil {
		return nil, 0, f.err
	}
	if offset >= len(f.runs) {
		return nil, len(f.runs), nil
	}
	return f.runs[offset:min(offset+limit, len(f.runs))], len(f.runs), nil
}

func (f *fakeStore) RunResources(_ context.Context, ids []string) (map[string][]syncd.Key, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := map[string][]syncd.Key{}
	for _, id := range ids {
		if k, ok := f.touched[id]; ok {
			out[id] = k
		}
	}
	return out, nil
}

func (f *fakeStore) Drifts(_ context.Context, offset, limit int) ([]audit.Drift, int, error) {
	if f.err != nil {
		return nil, 0, f.err
	}
	newest := make([]audit.Drift, len(f.drifts))
	for i, d := range f.drifts {
		newest[len(f.drifts)-1-i] = d
	}
	if offset >= len(newest) {
		return nil, len(newest), nil
	}
	return newest[offset:min(offset+limit, len(newest))], len(newest), nil
}

func fixture() (console.Status, *fakeStore) {
	st := console.Status{
		Mode: syncd.ModeReport, Leader: true, Schedule: "@every 5m", NextScan: t0.Add(5 * time.Minute),
		Revision: "0123456789abcdef0123",
		LastRun:  &console.LastRun{ID: "run-last", Trigger: "schedule", Mode: "report", StartedAt: t0, FinishedAt: t0.Add(time.Second), Outcome: "ok", Requests: 4},
		Declared: []console.Declared{{Key: alpha, File: "make/alpha.yaml"}, {Key: beta, File: "make/beta.yaml"}, {Key: shop, File: "patchworks/shop.yaml"}, {Key: gamma, File: "patchworks/gamma.yaml"}},
		Plan: &planner.Plan{Changes: []planner.Change{
			{Key: alpha, Action: planner.ActionUpdate, RemoteID: "app-one", Drift: true, Fields: []syncd.FieldChange{
				{Path: "/label", Before: "Alpha (edited)", After: "Alpha"},
				{Path: "/common/clientSecret", Before: leaked, After: leaked, Sensitive: true},
			}},
			{Key: beta, Action: planner.ActionNoop, RemoteID: "app-two"},
			{Key: shop, Action: planner.ActionUpdate, RemoteID: "7", Fields: []syncd.FieldChange{{Path: "/timezone", Before: "UTC", After: "Europe/London"}}},
			{Key: gamma, Action: planner.ActionNoop, Error: "two connectors named gamma"},
		}},
	}
	store := &fakeStore{touched: map[string][]syncd.Key{"run-00": {alpha, shop}}}
	store.drifts = []audit.Drift{
		{ID: 0, Key: alpha, RemoteID: "app-one", FirstSeen: t0.Add(-96 * time.Hour), LastSeen: t0.Add(-95 * time.Hour), ResolvedAt: t0.Add(-94 * time.Hour), Resolution: "apply",
			Fields: []audit.DriftField{{FieldChange: syncd.FieldChange{Path: "/type", Before: "oauth", After: "apikey"}}}},
		{ID: 1, Key: shop, RemoteID: "7", FirstSeen: t0.Add(-48 * time.Hour), LastSeen: t0.Add(-47 * time.Hour), ResolvedAt: t0.Add(-46 * time.Hour), Resolution: "reverted",
			Fields: []audit.DriftField{{FieldChange: syncd.FieldChange{Path: "/timezone", Before: "Asia/Tokyo", After: "UTC"}}}},
		{ID: 2, Key: alpha, RemoteID: "app-one", FirstSeen: t0.Add(-time.Hour), LastSeen: t0, Occurrences: 12,
			Fields: []audit.DriftField{
				{FieldChange: syncd.FieldChange{Path: "/label", Before: "Alpha (edited)", After: "Alpha"}},
				{FieldChange: syncd.FieldChange{Path: "/common/clientSecret", Before: leaked, After: leaked, Sensitive: true}},
			}},
	}
	store.events = []audit.StoredEvent{
		{RowID: 1, Event: syncd.Event{Type: syncd.EventChangeApplied, Kind: alpha.Kind, Name: alpha.Name, Action: "create", Outcome: "applied", OccurredAt: t0.Add(-72 * time.Hour), Actor: "ci@runner", ManifestRevision: "feedface", RunID: "run-29"}},
		{RowID: 2, Event: syncd.Event{Type: syncd.EventDriftDetected, Kind: alpha.Kind, Name: alpha.Name, Outcome: "open", OccurredAt: t0.Add(-time.Hour), Actor: "syncd@host", RunID: "run-01",
			Changes: []syncd.FieldChange{{Path: "/label"}, {Path: "/common/clientSecret", Sensitive: true}}}},
		{RowID: 3, Event: syncd.Event{Type: syncd.EventChangePlanned, Kind: alpha.Kind, Name: alpha.Name, Action: "update", Outcome: "report_only", OccurredAt: t0.Add(-50 * time.Minute), RunID: "run-02",
			Changes: []syncd.FieldChange{{Path: "/label"}}}},
		{RowID: 4, Event: syncd.Event{Type: syncd.EventChangePlanned, Kind: alpha.Kind, Name: alpha.Name, Action: "update", Outcome: "report_only", OccurredAt: t0.Add(-40 * time.Minute), RunID: "run-03",
			Changes: []syncd.FieldChange{{Path: "/label"}}}},
		{RowID: 5, Event: syncd.Event{Type: syncd.EventChangePlanned, Kind: alpha.Kind, Name: alpha.Name, Action: "update", Outcome: "report_only", OccurredAt: t0.Add(-30 * time.Minute), RunID: "run-04",
			Changes: []syncd.FieldChange{{Path: "/label"}}}},
	}
	for i := range 30 {
		store.runs = append(store.runs, syncd.RunRecord{
			Run: syncd.Run{ID: fmt.Sprintf("run-%02d", i), Mode: "report"}, Trigger: "schedule", StartedAt: t0.Add(-time.Duration(i) * time.Minute),
			FinishedAt: t0.Add(-time.Duration(i)*time.Minute + time.Second), Outcome: "ok",
			Summary:  json.RawMessage(`{"update": 2, "noop": 1}`),
			Requests: json.RawMessage(`{"make": {"200": 5}, "patchworks": {"200": 2, "429": 1}}`),
		})
	}
	return st, store
}

func get(t *testing.T, h http.Handler, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header(), string(body)
}

func TestPages(t *testing.T) {
	tests := []struct {
		name, path string
		code       int
		want, not  []string
	}{
		{name: "overview", path: "/", code: 200,
			want: []string{"report mode", "reporter", `<span class="n">1</span> <span class="label">drifted</span>`,
				`<span class="n">1</span> <span class="label">pending</span>`, `<span class="n">1</span> <span class="label">in sync</span>`,
				`<span class="n">1</span> <span class="label">error</span>`, `<span class="n">0</span> <span class="label">stuck</span>`,
				"0123456789ab", "2026-03-01 12:05:00 UTC", "API requests made</dt><dd>4", `href="/resources/MakeConnection/alpha"`},
			not: []string{"PatchworksConnector/shop</a> <small>"}},
		{name: "all resources", path: "/resources", code: 200,
			want: []string{"4 of 4 resources", "MakeConnection/alpha", "MakeConnection/beta", "PatchworksConnector/shop", "PatchworksConnector/gamma", "make/beta.yaml", "change planned <time"}},
		{name: "filter by state", path: "/resources?state=drifted", code: 200,
			want: []string{"1 of 4 resources", "MakeConnection/alpha"}, not: []string{"MakeConnection/beta", "PatchworksConnector/shop<"}},
		{name: "filter by kind", path: "/resources?kind=PatchworksConnector", code: 200,
			want: []string{"2 of 4 resources", "PatchworksConnector/shop", "PatchworksConnector/gamma"}, not: []string{"MakeConnection/alpha<"}},
		{name: "filter by text", path: "/resources?q=APP-TWO", code: 200,
			want: []string{"1 of 4 resources", "MakeConnection/beta"}, not: []string{"MakeConnection/alpha<"}},
		{name: "filter matching nothing", path: "/resources?state=stuck", code: 200, want: []string{"No resource matches."}},
		{name: "drifted resource", path: "/resources/MakeConnection/alpha", code: 200,
			want: []string{"state-drifted", "<code>/label</code>", `<code class="live">&#34;Alpha (edited)&#34;</code>`, `<code class="declared">&#34;Alpha&#34;</code>`,
				"<code>/common/clientSecret</code>", `<code class="live">(sensitive)</code>`, "12 scan(s)",
				"will be updated in place [drift]", "(sensitive, changed)", "drift detected", "by ci@runner", "revision <code title=\"feedface\">",
				"<td>apply</td>",
				"change planned</strong> · update · <span class=\"outcome outcome-report_only\">report_only</span> · <span class=\"repeats\">3 times in a row, since <time datetime=\"2026-03-01T11:10:00Z\">2026-03-01 11:10:00 UTC</time></span>\n<br><small>last <time datetime=\"2026-03-01T11:30:00Z\">"},
			not: []string{"Plan:", `<th scope="row"><code>/type</code>`}},
		{name: "pending resource", path: "/resources/PatchworksConnector/shop", code: 200,
			want: []string{"state-pending", "No open drift.", "/timezone: &#34;UTC&#34; -&gt; &#34;Europe/London&#34;", "reverted"}},
		{name: "resource with a planning error", path: "/resources/PatchworksConnector/gamma", code: 200,
			want: []string{"state-error", "error: two connectors named gamma"}},
		{name: "resource in sync", path: "/resources/MakeConnection/beta", code: 200,
			want: []string{"state-in-sync", "Nothing pending"}},
		{name: "unknown resource", path: "/resources/MakeConnection/nope", code: 404, want: []string{"no such page"}},
		{name: "unknown kind", path: "/resources/Bogus/alpha", code: 404},
		{name: "runs page 1", path: "/runs", code: 200,
			want: []string{"run-00", "run-24", "Page 1 of 2 (30 in all)", `href="/runs?page=2"`, "2 update, 1 in sync", "<td>8</td>",
				`<a href="/resources/MakeConnection/alpha">MakeConnection/alpha</a>, <a href="/resources/PatchworksConnector/shop">`},
			not: []string{"run-25", `rel="prev"`}},
		{name: "runs page 2", path: "/runs?page=2", code: 200,
			want: []string{"run-25", "run-29", "Page 2 of 2", `href="/runs?page=1"`}, not: []string{"run-24", `rel="next"`}},
		{name: "runs past the end", path: "/runs?page=9", code: 200, want: []string{"run-29", "Page 2 of 2"}},
		{name: "drift history", path: "/drift", code: 200,
			want: []string{`href="/resources/MakeConnection/alpha"`, `href="/resources/PatchworksConnector/shop"`, "reverted", "open"}},
		{name: "stylesheet", path: "/static/console.css", code: 200, want: []string{"--fg"}},
		{name: "unknown page", path: "/nope", code: 404},
	}
	st, store := fixture()
	h := console.New(fakeStatus{st}, store, console.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := get(t, h, tc.path)
			if code != tc.code {
				t.Fatalf("GET %s: %d, want %d\n%s", tc.path, code, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: %q missing", tc.path, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("GET %s: %q present", tc.path, n)
				}
			}
			if strings.Contains(body, leaked) {
				t.Errorf("GET %s: a sensitive value is shown", tc.path)
			}
			if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
			}
		})
	}
}

// Without a database, or when it fails, every page still renders, with a
// warning instead of the history.
func TestPagesWithoutHistory(t *testing.T) {
	st, _ := fixture()
	failing := &fakeStore{err: errors.New("connection refused")}
	for _, tc := range []struct {
		name  string
		store console.Store
		want  string
	}{
		{"no store", nil, "No audit database is configured"},
		{"failing store", failing, "The audit database could not be read"},
	} {
		for _, path := range []string{"/", "/resources", "/resources/MakeConnection/alpha", "/runs", "/drift"} {
			h := console.New(fakeStatus{st}, tc.store, console.Options{})
			code, _, body := get(t, h, path)
			if code != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("%s: GET %s: %d, warning %q missing", tc.name, path, code, tc.want)
			}
		}
	}
}

// A report-mode daemon takes no lock: the console never calls it a
// standby waiting for one.
func TestReportModeIsNoStandby(t *testing.T) {
	st := console.Status{Mode: syncd.ModeReport, Leader: false}
	_, _, body := get(t, console.New(fakeStatus{st}, nil, console.Options{}), "/")
	if strings.Contains(body, "standby") || !strings.Contains(body, "reporter") {
		t.Errorf("report-mode overview calls its role:\n%s", body)
	}
}

// Before the first run there is no plan: every declared resource is
// "not planned yet", and the overview says no run has finished.
func TestBeforeFirstRun(t *testing.T) {
	st := console.Status{Mode: syncd.ModeApply, Declared: []console.Declared{{Key: alpha, File: "make/alpha.yaml"}}}
	h := console.New(fakeStatus{st}, nil, console.Options{})
	_, _, body := get(t, h, "/")
	for _, w := range []string{"No run has finished yet.", `<span class="n">1</span> <span class="label">not planned yet</span>`, "standby"} {
		if !strings.Contains(body, w) {
			t.Errorf("overview: %q missing", w)
		}
	}
	_, _, body = get(t, h, "/resources/MakeConnection/alpha")
	if !strings.Contains(body, "not planned yet") {
		t.Error("resource page: state not planned yet missing")
	}
	got := strings.Count(body, "<h2")
	if diff := cmp.Diff(3, got); diff != "" {
		t.Errorf("resource page sections (-want +got):\n%s", diff)
	}
}
