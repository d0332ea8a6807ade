package make

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/google/go-cmp/cmp"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// TestNewClientSettings: a base URL wins over a zone, a zone is looked up
// (case and spaces aside), one of them and a token are required, and zero
// or negative limits take the defaults while set ones are kept.
func TestNewClientSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		wantErr  string
		wantBase string
		wantRPM  int
		wantConc int
	}{
		{name: "nothing", cfg: Config{Token: "t"}, wantErr: "a base URL or a zone is required"},
		{name: "unknown zone", cfg: Config{Zone: "mars1", Token: "t"}, wantErr: `unknown zone "mars1"`},
		{name: "no token", cfg: Config{Zone: "eu1"}, wantErr: "a token is required"},
		{name: "zone", cfg: Config{Zone: " US2 ", Token: "t"}, wantBase: "https://us2.make.com/api/v2",
			wantRPM: DefaultRequestsPerMinute, wantConc: transport.DefaultMaxConcurrency},
		{name: "URL wins over zone", cfg: Config{BaseURL: "http://127.0.0.1:1/api/v2", Zone: "mars1", Token: "t", RequestsPerMinute: -1, MaxConcurrency: -1},
			wantBase: "http://127.0.0.1:1/api/v2", wantRPM: DefaultRequestsPerMinute, wantConc: transport.DefaultMaxConcurrency},
		{name: "limits kept", cfg: Config{Zone: "eu1", Token: "t", RequestsPerMinute: 1, MaxConcurrency: 1},
			wantBase: "https://eu1.make.com/api/v2", wantRPM: 1, wantConc: 1},
		{name: "bad URL", cfg: Config{BaseURL: "eu1.make.com", Token: "t"}, wantErr: "not an absolute http(s) URL"},
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

// answerServer answers every request with status and body.
func answerServer(t *testing.T, status int, body string) *Client {
	t.Helper()
	url := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	return newTestClient(t, url)
}

func apiErr(t *testing.T, err error) *platform.APIError {
	t.Helper()
	var ae *platform.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an APIError", err, err)
	}
	return ae
}

// TestConnectionReadsEitherVersionSpelling: appVersion (a number or a
// string) or app_version, the first one given; anything else is no version.
func TestConnectionReadsEitherVersionSpelling(t *testing.T) {
	for body, want := range map[string]string{
		`{"name": "a", "appVersion": 3}`:                      "3",
		`{"name": "a", "appVersion": "3"}`:                    "3",
		`{"name": "a", "app_version": "2"}`:                   "2",
		`{"name": "a", "app_version": 2.5}`:                   "2.5",
		`{"name": "a", "appVersion": null, "app_version": 2}`: "2",
		`{"name": "a", "appVersion": "", "app_version": 2}`:   "2",
		`{"name": "a", "appVersion": 1, "app_version": "9"}`:  "1",
		`{"name": "a", "appVersion": {"major": 1}}`:           "",
		`{"name": "a"}`:                                "",
		`{"name": "a", "appVersion": "v\"2"}`:          `v"2`,
		`{"name": "a", "appVersion": "\u0031.0"}`:      "1.0",
		"{\"name\": \"a\", \"appVersion\": \"1\xff\"}": "1\uFFFD",
	} {
		var c Connection
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if c.AppVersion != want || c.Name != "a" {
			t.Errorf("%s: version %q, want %q", body, c.AppVersion, want)
		}
		// A list reads its items the same way.
		list, err := answerServer(t, 200, `{"appConnections": [`+body+`, null]}`).ListConnections(context.Background(), "app")
		if err != nil || len(list) != 2 || list[0] != c || list[1] != (Connection{}) {
			t.Errorf("%s in a list: %+v, %v", body, list, err)
		}
	}
	var c Connection
	if err := json.Unmarshal([]byte(`{"name": 5}`), &c); err == nil {
		t.Error("a numeric name decoded")
	}
}

// TestUnreadableAnswers: a 2xx whose body is not what the endpoint
// answers is a transient error; after a write it is ambiguous (the write
// took), after a read it is not.
func TestUnreadableAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, body    string
		call          func(c *Client) error
		wantAmbiguous bool
		wantMsg       string
	}{
		{"list not JSON", `<html>`, func(c *Client) error { _, err := c.ListConnections(ctx, "crm"); return err }, false, "syntax error at offset"},
		{"list of the wrong type", `{"appConnections": {"a": 1}}`, func(c *Client) error { _, err := c.ListConnections(ctx, "crm"); return err }, false, `field "appConnections" has type object`},
		{"list without a list", `{"items": []}`, func(c *Client) error { _, err := c.ListConnections(ctx, "crm"); return err }, false, "neither appConnections nor connections"},
		{"get without a connection", `{}`, func(c *Client) error { _, err := c.GetConnection(ctx, "crm"); return err }, false, "no named appConnection"},
		{"get without a name", `{"appConnection": {"label": "A"}}`, func(c *Client) error { _, err := c.GetConnection(ctx, "crm"); return err }, false, "no named appConnection"},
		{"get not JSON", `nope`, func(c *Client) error { _, err := c.GetConnection(ctx, "crm"); return err }, false, "not the expected JSON"},
		{"create without a connection", `{}`, func(c *Client) error { _, err := c.CreateConnection(ctx, "crm", "basic", "A"); return err }, true, "no named appConnection"},
		{"create not JSON", `nope`, func(c *Client) error { _, err := c.CreateConnection(ctx, "crm", "basic", "A"); return err }, true, "not the expected JSON"},
		{"update not JSON", `nope`, func(c *Client) error { _, err := c.UpdateConnection(ctx, "crm", ConnectionUpdate{}); return err }, true, "not the expected JSON"},
		{"common not JSON", `{"a":`, func(c *Client) error { _, err := c.GetCommon(ctx, "crm"); return err }, false, "common data is not JSON"},
		{"common a list", `[1]`, func(c *Client) error { _, err := c.GetCommon(ctx, "crm"); return err }, false, "common data is not an object"},
		{"common a number", `5`, func(c *Client) error { _, err := c.GetCommon(ctx, "crm"); return err }, false, "common data is not an object"},
		{"section not JSONC", `{"a": }`, func(c *Client) error { _, _, err := c.GetSection(ctx, "crm", "api"); return err }, false, "section is not valid JSONC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(answerServer(t, http.StatusOK, tc.body))
			ae := apiErr(t, err)
			if ae.Kind != platform.KindTransient || ae.Ambiguous != tc.wantAmbiguous || !strings.Contains(ae.Message, tc.wantMsg) {
				t.Errorf("error = %+v, want transient, ambiguous %v, message with %q", ae, tc.wantAmbiguous, tc.wantMsg)
			}
		})
	}
}

// TestOddButValidAnswers: the answers Make documents or is known to give
// besides the usual ones.
func TestOddButValidAnswers(t *testing.T) {
	ctx := context.Background()
	t.Run("list under connections", func(t *testing.T) {
		got, err := answerServer(t, 200, `{"connections": [{"name": "a", "label": "A", "type": "basic"}]}`).ListConnections(ctx, "crm")
		if err != nil || len(got) != 1 || got[0].Name != "a" {
			t.Errorf("list = %+v, %v", got, err)
		}
	})
	t.Run("empty list", func(t *testing.T) {
		got, err := answerServer(t, 200, `{"appConnections": []}`).ListConnections(ctx, "crm")
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("list = %#v, %v", got, err)
		}
	})
	t.Run("update answered without the object", func(t *testing.T) {
		got, err := answerServer(t, 200, `{}`).UpdateConnection(ctx, "crm", ConnectionUpdate{})
		if err != nil || got != (Connection{Name: "crm"}) {
			t.Errorf("update = %+v, %v", got, err)
		}
	})
	t.Run("update answered with the object", func(t *testing.T) {
		got, err := answerServer(t, 200, `{"appConnection": {"name": "crm", "label": "New"}}`).UpdateConnection(ctx, "crm", ConnectionUpdate{})
		if err != nil || got.Label != "New" {
			t.Errorf("update = %+v, %v", got, err)
		}
	})
	for body, want := range map[string]map[string]any{
		``: {}, `  `: {}, `null`: {}, `[]`: {}, `{}`: {}, `{"a": "1"}`: {"a": "1"},
	} {
		t.Run("common "+body, func(t *testing.T) {
			got, err := answerServer(t, 200, body).GetCommon(ctx, "crm")
			if err != nil || got == nil {
				t.Fatalf("common = %v, %v", got, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("common (-want +got):\n%s", diff)
			}
		})
	}
	for body, want := range map[string]string{
		``: "crm", `{}`: "crm", `nope`: "crm", `{"appConnection": ""}`: "crm", `{"appConnection": {"name": ""}}`: "crm",
		`{"appConnection": 5}`: "crm", `{"appConnection": "crm2"}`: "crm2", `{"appConnection": {"name": "crm3"}}`: "crm3",
	} {
		t.Run("recreate "+body, func(t *testing.T) {
			got, err := answerServer(t, 200, body).Recreate(ctx, "crm")
			if err != nil || got != want {
				t.Errorf("recreate = %q, %v; want %q", got, err, want)
			}
		})
	}
	for _, sec := range []string{"api", "parameters"} {
		t.Run("section "+sec+" answered empty", func(t *testing.T) {
			raw, v, err := answerServer(t, 200, "").GetSection(ctx, "crm", sec)
			if err != nil || raw != "" {
				t.Fatalf("section = %q, %v", raw, err)
			}
			if diff := cmp.Diff(EmptySection(sec), v); diff != "" {
				t.Errorf("empty section (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnknownSectionSendsNothing: a section name Make does not have is
// refused before any request.
func TestUnknownSectionSendsNothing(t *testing.T) {
	f, c := startFake(t)
	name := f.add("crm", "A", "basic")
	if _, _, err := c.GetSection(context.Background(), name, "common"); err == nil || !strings.Contains(err.Error(), `unknown section "common"`) {
		t.Errorf("get: %v", err)
	}
	if err := c.SetSection(context.Background(), name, "Api", "{}"); err == nil || !strings.Contains(err.Error(), `unknown section "Api"`) {
		t.Errorf("set: %v", err)
	}
	if got := f.log(); len(got) != 0 {
		t.Errorf("requests sent: %v", got)
	}
}

// TestWriteBodies: an update sends only the fields it sets (a cleared
// connected system name as null), and empty common data is written as {}.
func TestWriteBodies(t *testing.T) {
	f, c := startFake(t)
	name := f.add("crm", "A", "basic")
	ctx := context.Background()
	label := "B"
	var null *string
	for _, tc := range []struct {
		u    ConnectionUpdate
		want string
	}{
		{ConnectionUpdate{}, `{}`},
		{ConnectionUpdate{Label: &label}, `{"label":"B"}`},
		{ConnectionUpdate{ConnectedSystemName: &null}, `{"connectedSystemName":null}`},
	} {
		if _, err := c.UpdateConnection(ctx, name, tc.u); err != nil {
			t.Fatal(err)
		}
		if got := f.body("PATCH /sdk/apps/connections/" + name); got != tc.want {
			t.Errorf("update body = %s, want %s", got, tc.want)
		}
	}
	if err := c.SetCommon(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.body("PUT /sdk/apps/connections/" + name + "/common"); got != `{}` {
		t.Errorf("nil common written as %s, want {}", got)
	}
	if err := c.SetCommon(ctx, name, map[string]any{"bad": func() {}}); err == nil || !strings.Contains(err.Error(), "encode common data") {
		t.Errorf("unencodable common: %v", err)
	}
}

// TestReadsTakeTheManifestsValueWhenEqual: a section or common data that
// answers exactly the manifest's value gives that value itself (nothing
// decoded twice, nothing kept twice); any other answer is decoded as
// GetSection and GetCommon decode it, and shares only its equal parts.
func TestReadsTakeTheManifestsValueWhenEqual(t *testing.T) {
	ctx := context.Background()
	sec := func(s string) any {
		v, err := ParseJSONC([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, body, like string
		same             bool // the result is like itself
		want             string
	}{
		{"compact", `{"url":"https://x","headers":{"k":"v"}}`, `{"headers":{"k":"v"},"url":"https://x"}`, true, ""},
		{"indented as syncd writes", "{\n  \"url\": \"https:\\/\\/x\"\n}", `{"url":"https://x"}`, true, ""},
		{"edited on the server", `{"url":"https://y","headers":{"k":"v"}}`, `{"headers":{"k":"v"},"url":"https://x"}`, false,
			`{"url":"https://y","headers":{"k":"v"}}`},
		{"JSONC with a comment", `{"url": "https://x" /* prod */}`, `{"url":"https://x"}`, true, ""},
		{"legacy null", `null`, `{}`, false, `{}`},
		{"no manifest", `{"url":"https://x"}`, ``, false, `{"url":"https://x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := answerServer(t, 200, tc.body)
			var like any
			if tc.like != "" {
				like = sec(tc.like)
			}
			_, got, err := c.readSection(ctx, "conn", "api", like)
			if err != nil {
				t.Fatal(err)
			}
			if tc.same {
				if !sameValue(got, like) {
					t.Fatalf("got %v, want the manifest's own value", got)
				}
				return
			}
			if !reflect.DeepEqual(got, sec(tc.want)) {
				t.Fatalf("got %#v, want %s", got, tc.want)
			}
			if like != nil && sameValue(got, like) && tc.want != tc.like {
				t.Fatal("a different answer came back as the manifest's value")
			}
		})
	}
	t.Run("common", func(t *testing.T) {
		like := map[string]any{"clientId": "id-1", "n": 2.0}
		c := answerServer(t, 200, `{"n": 2, "clientId": "id-1"}`)
		got, err := c.readCommon(ctx, "conn", like)
		if err != nil || !sameValue(got, like) {
			t.Fatalf("got %v, %v; want the manifest's own map", got, err)
		}
		c = answerServer(t, 200, `{"n": 3, "clientId": "id-1"}`)
		got, err = c.readCommon(ctx, "conn", like)
		if err != nil || sameValue(got, like) || got["n"] != 3.0 {
			t.Fatalf("got %v, %v; want the server's {n: 3}", got, err)
		}
		// Equal, but not in a form SameJSON reads (a \u escape): decoded,
		// and then the manifest's own map all the same.
		c = answerServer(t, 200, `{"n": 2, "clientId": "\u0069d-1"}`)
		got, err = c.readCommon(ctx, "conn", like)
		if err != nil || !sameValue(got, like) {
			t.Fatalf("escaped but equal: got %v, %v; want the manifest's own map", got, err)
		}
		// Without a manifest, a legacy null is {} (never nil).
		c = answerServer(t, 200, `null`)
		if got, err := c.GetCommon(ctx, "conn"); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("null common data: %#v, %v; want an empty map", got, err)
		}
		c = answerServer(t, 200, `[]`)
		got, err = c.readCommon(ctx, "conn", map[string]any{})
		if err != nil || len(got) != 0 {
			t.Fatalf("PHP's empty []: got %v, %v", got, err)
		}
		c = answerServer(t, 200, `"x"`)
		if _, err = c.readCommon(ctx, "conn", like); err == nil {
			t.Fatal("a string taken as common data")
		}
	})
}

// sameValue reports whether a and b are the same map or slice in memory.
func sameValue(a, b any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
