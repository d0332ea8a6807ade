package patchworks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// TestNewClientSettings: a URL and a key are required, /api/v1 is added
// once whatever the URL ends with, and zero or negative limits take the
// defaults while set ones are kept.
func TestNewClientSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		wantErr  string
		wantBase string
		wantRPM  int
		wantConc int
	}{
		{name: "no URL", cfg: Config{Token: "k"}, wantErr: "a base URL is required"},
		{name: "no key", cfg: Config{BaseURL: "http://h"}, wantErr: "an API key is required"},
		{name: "bare host", cfg: Config{BaseURL: "http://h", Token: "k"}, wantBase: "http://h/api/v1",
			wantRPM: DefaultRequestsPerMinute, wantConc: transport.DefaultMaxConcurrency},
		{name: "with /api/v1/", cfg: Config{BaseURL: "http://h/api/v1/", Token: "k", RequestsPerMinute: -1, MaxConcurrency: -1},
			wantBase: "http://h/api/v1", wantRPM: DefaultRequestsPerMinute, wantConc: transport.DefaultMaxConcurrency},
		{name: "limits kept", cfg: Config{BaseURL: "http://h/", Token: "k", RequestsPerMinute: 1, MaxConcurrency: 1},
			wantBase: "http://h/api/v1", wantRPM: 1, wantConc: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Transport().BaseURL(); got != tc.wantBase {
				t.Errorf("base URL = %q, want %q", got, tc.wantBase)
			}
			if _, limit := c.Transport().Allowance(); limit != tc.wantRPM {
				t.Errorf("requests per minute = %d, want %d", limit, tc.wantRPM)
			}
			if c.concurrency != tc.wantConc {
				t.Errorf("concurrency = %d, want %d", c.concurrency, tc.wantConc)
			}
		})
	}
}

// TestMetaDecodesLeniently: Laravel's pagination numbers may come as
// numbers or as (padded) text; anything else reads as 0.
func TestMetaDecodesLeniently(t *testing.T) {
	var m Meta
	if err := json.Unmarshal([]byte(`{"current_page": "2", "last_page": " 7 ", "per_page": 100, "total": "x"}`), &m); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Meta{CurrentPage: 2, LastPage: 7, PerPage: 100, Total: 0, Present: true}, m); diff != "" {
		t.Errorf("meta (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`[1]`), &m); err == nil {
		t.Error("a list decoded as meta")
	}
}

// pages serves the connector list from answer (by page number) and counts
// the list requests.
func pages(t *testing.T, answer func(page string, call int) string) (*Client, func() []string) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	rec, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		reply(w, 200, answer(r.URL.Query().Get("page"), n))
	})
	return c, rec.requests
}

// TestListAllEndings: every page up to last_page is read at 100 a page;
// without meta the next links are followed until one is missing or a page
// is empty; connectors without an id are all kept, a repeated id once; and
// a list that keeps changing is an error after three passes.
func TestListAllEndings(t *testing.T) {
	ctx := context.Background()
	ids := func(all []Connector) []string {
		var out []string
		for _, c := range all {
			out = append(out, IDString(c["id"])+":"+IDString(c["name"]))
		}
		return out
	}
	t.Run("three pages", func(t *testing.T) {
		c, reqs := pages(t, func(p string, _ int) string {
			return `{"data": [{"id": ` + p + `}], "meta": {"last_page": 3, "total": 3}}`
		})
		all, err := c.ListAllConnectors(ctx, ListOptions{Page: 9, PerPage: 5})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"1:", "2:", "3:"}, ids(all)); diff != "" {
			t.Errorf("connectors (-want +got):\n%s", diff)
		}
		got := reqs()
		if len(got) != 3 || got[0] != "GET /api/v1/connectors?page=1&per_page=100" {
			t.Errorf("requests = %v", got)
		}
	})
	t.Run("one page", func(t *testing.T) {
		c, reqs := pages(t, func(string, int) string {
			return `{"data": [{"id": 1}, {"name": "a"}, {"name": "b"}, {"id": 1}], "meta": {"last_page": 1, "total": 3}}`
		})
		all, err := c.ListAllConnectors(ctx, ListOptions{})
		if err != nil || len(reqs()) != 1 {
			t.Fatalf("%v in %d requests", err, len(reqs()))
		}
		if diff := cmp.Diff([]string{"1:", ":a", ":b"}, ids(all)); diff != "" {
			t.Errorf("connectors (-want +got):\n%s", diff)
		}
	})
	t.Run("no meta, an empty page ends it", func(t *testing.T) {
		c, reqs := pages(t, func(p string, _ int) string {
			if p == "1" {
				return `{"data": [{"id": 1}], "links": {"next": "n"}}`
			}
			return `{"data": [], "links": {"next": "n"}}`
		})
		all, err := c.ListAllConnectors(ctx, ListOptions{})
		if err != nil || len(all) != 1 || len(reqs()) != 2 {
			t.Errorf("%d connectors in %d requests, %v", len(all), len(reqs()), err)
		}
	})
	t.Run("no meta, no next", func(t *testing.T) {
		c, reqs := pages(t, func(string, int) string { return `{"data": [{"id": 1}]}` })
		all, err := c.ListAllConnectors(ctx, ListOptions{})
		if err != nil || len(all) != 1 || len(reqs()) != 1 {
			t.Errorf("%d connectors in %d requests, %v", len(all), len(reqs()), err)
		}
	})
	t.Run("no meta, a failing next page", func(t *testing.T) {
		c, _ := pages(t, func(p string, _ int) string {
			if p == "1" {
				return `{"data": [{"id": 1}], "links": {"next": "n"}}`
			}
			return `{"items": []}`
		})
		if _, err := c.ListAllConnectors(ctx, ListOptions{}); err == nil {
			t.Error("a failed page gave no error")
		}
	})
	t.Run("total moves", func(t *testing.T) {
		c, reqs := pages(t, func(p string, n int) string {
			return `{"data": [{"id": ` + p + `}], "meta": {"last_page": 2, "total": ` + map[bool]string{true: "2", false: "3"}[n%2 == 1] + `}}`
		})
		_, err := c.ListAllConnectors(ctx, ListOptions{})
		if err == nil || !strings.Contains(err.Error(), "changed while it was being read") {
			t.Errorf("error = %v", err)
		}
		if n := len(reqs()); n != 6 {
			t.Errorf("%d requests, want 3 passes of 2", n)
		}
	})
	t.Run("fewer than the total", func(t *testing.T) {
		c, reqs := pages(t, func(string, int) string { return `{"data": [{"id": 1}], "meta": {"last_page": 1, "total": 2}}` })
		if _, err := c.ListAllConnectors(ctx, ListOptions{}); err == nil {
			t.Error("a short list gave no error")
		}
		if n := len(reqs()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("as many as the total", func(t *testing.T) {
		c, _ := pages(t, func(string, int) string {
			return `{"data": [{"id": 1}, {"id": 2}], "meta": {"last_page": 1, "total": 2}}`
		})
		if all, err := c.ListAllConnectors(ctx, ListOptions{}); err != nil || len(all) != 2 {
			t.Errorf("%d, %v", len(all), err)
		}
	})
	t.Run("a later page without meta", func(t *testing.T) {
		c, _ := pages(t, func(p string, _ int) string {
			if p == "1" {
				return `{"data": [{"id": 1}], "meta": {"last_page": 2, "total": 2}}`
			}
			return `{"data": [{"id": 2}]}`
		})
		if all, err := c.ListAllConnectors(ctx, ListOptions{}); err != nil || len(all) != 2 {
			t.Errorf("%d, %v", len(all), err)
		}
	})
}

// TestConnectorAnswers: an object under data or bare (with an id) is the
// connector; anything else is a transient error, ambiguous after a create;
// an update whose answer is unreadable still took.
func TestConnectorAnswers(t *testing.T) {
	ctx := context.Background()
	answer := func(t *testing.T, body string) (*Client, func() []string) {
		rec, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { reply(w, 200, body) })
		return c, rec.requests
	}
	for body, wantID := range map[string]string{`{"data": {"id": 5}}`: "5", `{"id": "6", "name": "x"}`: "6"} {
		c, reqs := answer(t, body)
		got, err := c.GetConnector(ctx, "5", []string{"variables", "certificate"})
		if err != nil || IDString(got["id"]) != wantID {
			t.Errorf("%s: %v, %v", body, got, err)
		}
		if r := reqs()[0]; r != "GET /api/v1/connectors/5?include=variables%2Ccertificate" {
			t.Errorf("request = %s", r)
		}
	}
	c, reqs := answer(t, `{"data": {"id": 5}}`)
	if _, err := c.GetConnector(ctx, "a/b", nil); err != nil || reqs()[0] != "GET /api/v1/connectors/a%2Fb" {
		t.Errorf("no includes: %v, %v", reqs(), err)
	}
	for body, msg := range map[string]string{`{"data": null}`: "no data object", `{"name": "x"}`: "no data object", `[]`: "not the expected JSON", `nope`: "syntax error"} {
		c, _ := answer(t, body)
		_, err := c.GetConnector(ctx, "5", nil)
		var ae *platform.APIError
		if !errors.As(err, &ae) || ae.Kind != platform.KindTransient || ae.Ambiguous || !strings.Contains(ae.Message, msg) {
			t.Errorf("get %s: %v", body, err)
		}
		c, _ = answer(t, body)
		_, err = c.CreateConnector(ctx, map[string]any{"name": "x"})
		if !errors.As(err, &ae) || ae.Kind != platform.KindTransient || !ae.Ambiguous {
			t.Errorf("create %s: %v", body, err)
		}
		c, _ = answer(t, body)
		if got, err := c.UpdateConnector(ctx, "5", map[string]any{"name": "x"}); got != nil || err != nil {
			t.Errorf("update %s: %v, %v", body, got, err)
		}
	}
	c, _ = answer(t, `{"data": {"id": 5}}`)
	if _, err := c.CreateConnector(ctx, map[string]any{"bad": func() {}}); err == nil || !strings.Contains(err.Error(), "encode connector") {
		t.Errorf("unencodable create: %v", err)
	}
	if _, err := c.UpdateConnector(ctx, "5", map[string]any{"bad": func() {}}); err == nil || !strings.Contains(err.Error(), "encode connector 5") {
		t.Errorf("unencodable update: %v", err)
	}
}

// TestIDString: a number or text; anything else is no id.
func TestIDString(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{{17.0, "17"}, {1e21, "1000000000000000000000"}, {"x7", "x7"}, {json.Number("8"), "8"}, {nil, ""}, {true, ""}} {
		if got := IDString(tc.v); got != tc.want {
			t.Errorf("IDString(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestVariableIDsAreRemembered: every read remembers each variable's id by
// connector and key, a later read replaces them, and entries without a
// key or an id, or connectors without an id or a variable list, add none.
func TestVariableIDsAreRemembered(t *testing.T) {
	v := &varIDs{m: map[string][]varID{}}
	v.remember([]Connector{
		{"id": 1.0, "variables": []any{
			map[string]any{"key": "a", "id": 11.0},
			map[string]any{"key": "b"},
			map[string]any{"id": 13.0},
			"junk",
		}},
		{"variables": []any{map[string]any{"key": "c", "id": 21.0}}},
		{"id": 2.0, "variables": map[string]any{"d": map[string]any{"key": "d", "id": 31.0}}},
	})
	if diff := cmp.Diff(map[string][]varID{"1": {{"a", 11.0}}}, v.m, cmp.AllowUnexported(varID{})); diff != "" {
		t.Errorf("remembered (-want +got):\n%s", diff)
	}
	if id, ok := v.get("1", "a"); !ok || id != 11.0 {
		t.Errorf("get(1, a) = %v, %v", id, ok)
	}
	if _, ok := v.get("1", "b"); ok {
		t.Error("a variable without id was remembered")
	}
	v.remember([]Connector{{"id": "1", "variables": []any{}}})
	if _, ok := v.get("1", "a"); ok {
		t.Error("a later read did not replace the ids")
	}
	// A key listed twice: the last one read, as a map would keep.
	v.remember([]Connector{{"id": 3.0, "variables": []any{
		map[string]any{"key": "k", "id": 1.0}, map[string]any{"key": "k", "id": 2.0}}}})
	if id, ok := v.get("3", "k"); !ok || id != 2.0 {
		t.Errorf("get(3, k) = %v, %v, want the last id, 2", id, ok)
	}
}

// TestListQueryLeavesOutWhatIsNotSet: zero options send no parameter at
// all (the server's defaults), and a page size is capped at 100.
func TestListQueryLeavesOutWhatIsNotSet(t *testing.T) {
	for _, tc := range []struct {
		opts ListOptions
		want string
	}{
		{ListOptions{}, "GET /api/v1/connectors"},
		{ListOptions{Page: 1, PerPage: 1}, "GET /api/v1/connectors?page=1&per_page=1"},
		{ListOptions{PerPage: 100}, "GET /api/v1/connectors?per_page=100"},
		{ListOptions{PerPage: 101, Include: []string{}, Filter: map[string][]string{}}, "GET /api/v1/connectors?per_page=100"},
	} {
		c, reqs := pages(t, func(string, int) string { return `{"data": []}` })
		if _, err := c.ListConnectors(context.Background(), tc.opts); err != nil {
			t.Fatal(err)
		}
		if got := reqs()[0]; got != tc.want {
			t.Errorf("%+v: request %s, want %s", tc.opts, got, tc.want)
		}
	}
}

// TestListStopsAtMaxPages: a server whose pages never end (next links
// forever, or a last_page beyond reason) is read up to maxPages pages, not
// forever; next links that go on past them are no whole list.
func TestListStopsAtMaxPages(t *testing.T) {
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 3
	c, reqs := pages(t, func(p string, _ int) string {
		return `{"data": [{"id": ` + p + `}], "links": {"next": "n"}}`
	})
	_, err := c.ListAllConnectors(context.Background(), ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "goes on past the 3 pages syncd reads") || len(reqs()) != 3 {
		t.Errorf("no meta: %d requests, err %v; want 3 and the list refused", len(reqs()), err)
	}
	var all []Connector
	c, reqs = pages(t, func(p string, _ int) string {
		return `{"data": [{"id": ` + p + `}], "meta": {"last_page": 1000000000, "total": 3}}`
	})
	all, err = c.ListAllConnectors(context.Background(), ListOptions{})
	if err != nil || len(all) != 3 || len(reqs()) != 3 {
		t.Errorf("endless meta: %d connectors in %d requests, %v", len(all), len(reqs()), err)
	}
}

// TestListWithoutMetaReadsEveryPage: next links are followed page after
// page, in order, until a page has none.
func TestListWithoutMetaReadsEveryPage(t *testing.T) {
	c, reqs := pages(t, func(p string, _ int) string {
		switch p {
		case "1", "2":
			return `{"data": [{"id": ` + p + `}], "links": {"next": "n"}}`
		case "3":
			return `{"data": [{"id": 3}]}`
		}
		return `{"data": []}`
	})
	all, err := c.ListAllConnectors(context.Background(), ListOptions{})
	if err != nil || len(all) != 3 || IDString(all[2]["id"]) != "3" {
		t.Errorf("%v, %v", all, err)
	}
	want := []string{"GET /api/v1/connectors?page=1&per_page=100", "GET /api/v1/connectors?page=2&per_page=100", "GET /api/v1/connectors?page=3&per_page=100"}
	if diff := cmp.Diff(want, reqs()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestEveryReadRemembersVariableIDs: a connector read by get, create,
// update or list has its variables' ids remembered, so that a later update
// can name them; an update answered with the connector returns it, and a
// refused one is an error.
func TestEveryReadRemembersVariableIDs(t *testing.T) {
	ctx := context.Background()
	conn := `{"id": 5, "name": "Shop", "variables": [{"id": 51, "key": "host"}]}`
	for _, tc := range []struct {
		name string
		body string
		call func(c *Client) (Connector, error)
	}{
		{"get", `{"data": ` + conn + `}`, func(c *Client) (Connector, error) { return c.GetConnector(ctx, "5", nil) }},
		{"create", `{"data": ` + conn + `}`, func(c *Client) (Connector, error) { return c.CreateConnector(ctx, map[string]any{"name": "Shop"}) }},
		{"update", `{"data": ` + conn + `}`, func(c *Client) (Connector, error) {
			return c.UpdateConnector(ctx, "5", map[string]any{"name": "Shop"})
		}},
		{"list", `{"data": [` + conn + `]}`, func(c *Client) (Connector, error) {
			pg, err := c.ListConnectors(ctx, ListOptions{})
			if len(pg.Data) != 1 {
				return nil, err
			}
			return pg.Data[0], err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { reply(w, 200, tc.body) })
			got, err := tc.call(c)
			if err != nil || got["name"] != "Shop" {
				t.Fatalf("connector = %v, %v", got, err)
			}
			if id, ok := c.vars.get("5", "host"); !ok || id != 51.0 {
				t.Errorf("variable id = %v, %v; want 51", id, ok)
			}
		})
	}
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		reply(w, 422, `{"message": "The name has already been taken.", "errors": {"name": ["taken"]}}`)
	})
	if got, err := c.UpdateConnector(ctx, "5", map[string]any{"name": "Shop"}); got != nil || platform.KindOf(err) != platform.KindInvalid {
		t.Errorf("refused update = %v, %v", got, err)
	}
}

// TestListTooLongToReadSaysSo: a list whose meta says it has more
// connectors than maxPages pages can hold is refused after its first page,
// with the sizes, instead of being read up to maxPages three times over and
// then called inconsistent.
func TestListTooLongToReadSaysSo(t *testing.T) {
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 3
	c, reqs := pages(t, func(p string, _ int) string {
		return `{"data": [{"id": ` + p + `}], "meta": {"last_page": 4, "total": 301}}`
	})
	_, err := c.ListAllConnectors(context.Background(), ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "4 pages (301 connectors), more than the 3 pages") {
		t.Fatalf("err = %v, want the list's size and the limit", err)
	}
	if n := len(reqs()); n != 1 {
		t.Fatalf("%d requests, want only the first page", n)
	}
	// As many pages as syncd reads, whatever the total says, are read.
	c, reqs = pages(t, func(p string, _ int) string {
		return `{"data": [{"id": ` + p + `}], "meta": {"last_page": 3, "total": 301}}`
	})
	if _, err := c.ListAllConnectors(context.Background(), ListOptions{}); err == nil || strings.Contains(err.Error(), "pages syncd reads") {
		t.Fatalf("err = %v, want the list read (then found short)", err)
	}
	if n := len(reqs()); n < 3 {
		t.Fatalf("%d requests, want the three pages read", n)
	}
	// Exactly what maxPages pages hold is read.
	c, reqs = pages(t, func(p string, _ int) string {
		return `{"data": [{"id": ` + p + `}], "meta": {"last_page": 4, "total": 300}}`
	})
	if _, err := c.ListAllConnectors(context.Background(), ListOptions{}); err == nil || strings.Contains(err.Error(), "pages syncd reads") {
		t.Fatalf("err = %v, want the list read up to maxPages (then found short)", err)
	}
	if n := len(reqs()); n < 3 {
		t.Fatalf("%d requests, want maxPages read", n)
	}
}

// TestNextLinksEndingAtMaxPagesAreAWholeList: a list without meta whose
// next links end on page maxPages is read whole.
func TestNextLinksEndingAtMaxPagesAreAWholeList(t *testing.T) {
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 3
	c, _ := pages(t, func(p string, _ int) string {
		next := `"/connectors?page=next"`
		if p == "3" {
			next = "null"
		}
		return `{"data": [{"id": ` + p + `}], "links": {"next": ` + next + `}}`
	})
	all, err := c.ListAllConnectors(context.Background(), ListOptions{})
	if err != nil || len(all) != 3 {
		t.Fatalf("a list that ends at maxPages: %d connectors, err %v; want 3", len(all), err)
	}
	// An empty page ends a list too, whatever its next link says.
	c, _ = pages(t, func(p string, _ int) string {
		if p == "3" {
			return `{"data": [], "links": {"next": "/connectors?page=4"}}`
		}
		return `{"data": [{"id": ` + p + `}], "links": {"next": "/connectors?page=next"}}`
	})
	all, err = c.ListAllConnectors(context.Background(), ListOptions{})
	if err != nil || len(all) != 2 {
		t.Fatalf("a list whose page maxPages is empty: %d connectors, err %v; want 2", len(all), err)
	}
}

// TestPageItemsDecodeAsConnectors: a page's data decodes item by item as
// []Connector would: objects as they are, null as a nil Connector, and
// any other item is "not the expected JSON", naming its type.
func TestPageItemsDecodeAsConnectors(t *testing.T) {
	ctx := context.Background()
	answer := func(t *testing.T, body string) (*Client, []string) {
		_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { reply(w, 200, body) })
		return c, nil
	}
	c, _ := answer(t, `{"data": [{"id": 1, "name": "A"}, null, {"id": 2}], "meta": {"current_page": 1, "last_page": 1, "total": 2}}`)
	p, err := c.ListConnectors(ctx, ListOptions{})
	if err != nil || len(p.Data) != 3 || p.Data[0]["name"] != "A" || p.Data[1] != nil || p.Data[2]["id"] != 2.0 {
		t.Fatalf("page = %#v, %v", p.Data, err)
	}
	for item, kind := range map[string]string{`3`: "number", `"x"`: "string", `true`: "bool", `[1]`: "array"} {
		c, _ := answer(t, `{"data": [{"id": 1}, `+item+`]}`)
		_, err := c.ListConnectors(ctx, ListOptions{})
		var ae *platform.APIError
		want := `response is not the expected JSON: field "data" has type ` + kind
		if !errors.As(err, &ae) || ae.Kind != platform.KindTransient || ae.Message != want {
			t.Errorf("item %s: %v, want %q", item, err, want)
		}
	}
}

// TestCreateAnswered303IsAmbiguous: a server that did a POST and points
// at the result with 303 See Other (the usual way) is not taken at "nothing
// was done": the create is ambiguous, so the provider looks before it
// creates again.
func TestCreateAnswered303IsAmbiguous(t *testing.T) {
	var created atomic.Int64
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method == http.MethodPost {
			created.Add(1)
			http.Redirect(w, r, "/api/v1/connectors/42", http.StatusSeeOther)
			return
		}
		reply(w, 200, `{"data":{"id":42,"name":"n"}}`)
	})
	_, err := c.CreateConnector(context.Background(), map[string]any{"name": "n"})
	if created.Load() != 1 || err == nil || !platform.IsAmbiguous(err) || !strings.Contains(err.Error(), "may have been done") {
		t.Fatalf("created %d, err %v; want one create reported as possibly done", created.Load(), err)
	}
}
