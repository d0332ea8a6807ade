package make

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

var testRetry = transport.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxRetryAfter: time.Second}

func TestBaseURLForZone(t *testing.T) {
	tests := []struct {
		zone, want string
		wantErr    bool
	}{
		{zone: "eu1", want: "https://eu1.make.com/api/v2"},
		{zone: "eu2", want: "https://eu2.make.com/api/v2"},
		{zone: "us1", want: "https://us1.make.com/api/v2"},
		{zone: "us2", want: "https://us2.make.com/api/v2"},
		{zone: "eu1.celonis", want: "https://eu1.make.celonis.com/api/v2"},
		{zone: "us1.celonis", want: "https://us1.make.celonis.com/api/v2"},
		{zone: "mars1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			got, err := BaseURLForZone(tt.zone)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("BaseURLForZone(%q) = %q, %v; want %q, error %v", tt.zone, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestListQuirks(t *testing.T) {
	tests := []struct {
		name     string
		listKey  string
		versionN bool
	}{
		{"appConnections with app_version string", "appConnections", false},
		{"connections with appVersion number", "connections", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := startFake(t)
			f.set(func() { f.listKey, f.versionN = tt.listKey, tt.versionN })
			f.add("crm", "Main", "oauth")
			got, err := c.ListConnections(context.Background(), "crm")
			if err != nil {
				t.Fatal(err)
			}
			want := []Connection{{Name: "crm", Label: "Main", Type: "oauth", AppVersion: "1"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("list (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	f, c := startFake(t)

	conn, err := c.CreateConnection(ctx, "crm", "basic", "Main")
	if err != nil || conn.Name != "crm" {
		t.Fatalf("create: %+v, %v", conn, err)
	}
	conn2, _ := c.CreateConnection(ctx, "crm", "basic", "Second")
	if conn2.Name != "crm2" {
		t.Fatalf("second connection named %q, want crm2", conn2.Name)
	}
	if _, err := c.CreateConnection(ctx, "crm", "bad", "x"); platform.KindOf(err) != platform.KindInvalid || !strings.Contains(err.Error(), "Invalid connection type") {
		t.Fatalf("bad type: %v", err)
	}

	label, csn := "Renamed", "sys-1"
	pcsn := &csn
	if _, err := c.UpdateConnection(ctx, "crm", ConnectionUpdate{Label: &label, ConnectedSystemName: &pcsn}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetConnection(ctx, "crm")
	if err != nil || got.Label != "Renamed" || got.ConnectedSystemName == nil || *got.ConnectedSystemName != "sys-1" {
		t.Fatalf("get after update: %+v, %v", got, err)
	}
	var null *string
	c.UpdateConnection(ctx, "crm", ConnectionUpdate{ConnectedSystemName: &null})
	if got, _ := c.GetConnection(ctx, "crm"); got.ConnectedSystemName != nil {
		t.Fatalf("connectedSystemName not cleared: %v", *got.ConnectedSystemName)
	}

	raw := "// managed by syncd\n{\n  \"url\": \"https://x\", /* inline */\n  \"method\": \"GET\",\n}\n"
	if err := c.SetSection(ctx, "crm", "api", raw); err != nil {
		t.Fatal(err)
	}
	if ct := f.ct("PUT /sdk/apps/connections/crm/api"); ct != "application/jsonc" {
		t.Errorf("section PUT content type = %q", ct)
	}
	gotRaw, val, err := c.GetSection(ctx, "crm", "api")
	if err != nil || gotRaw != raw {
		t.Fatalf("section text not verbatim: %q, %v", gotRaw, err)
	}
	if diff := cmp.Diff(map[string]any{"url": "https://x", "method": "GET"}, val); diff != "" {
		t.Fatalf("parsed section (-want +got):\n%s", diff)
	}
	if err := c.SetSection(ctx, "crm", "api", "{nope"); platform.KindOf(err) != platform.KindInvalid || !strings.Contains(err.Error(), "in JSONC at position") {
		t.Fatalf("malformed section: %v", err)
	}
	if err := c.SetSection(ctx, "crm", "bogus", "{}"); err == nil {
		t.Fatal("unknown section accepted")
	}
	for _, sec := range []struct {
		name string
		want any
	}{{"parameters", []any{}}, {"scope", []any{}}, {"installSpec", []any{}}, {"api", nil}, {"scopes", map[string]any{}}, {"install", map[string]any{}}} {
		if sec.name == "api" {
			continue
		}
		_, v, err := c.GetSection(ctx, "crm2", sec.name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sec.want, v); diff != "" {
			t.Errorf("legacy null %s (-want +got):\n%s", sec.name, diff)
		}
	}

	if err := c.SetCommon(ctx, "crm", map[string]any{"clientId": "id-1"}); err != nil {
		t.Fatal(err)
	}
	if ct := f.ct("PUT /sdk/apps/connections/crm/common"); ct != "application/json" {
		t.Errorf("common PUT content type = %q", ct)
	}
	common, err := c.GetCommon(ctx, "crm")
	if diff := cmp.Diff(map[string]any{"clientId": "id-1"}, common); diff != "" || err != nil {
		t.Fatalf("common (-want +got):\n%s %v", diff, err)
	}
	f.set(func() { f.locked = true })
	err = c.SetCommon(ctx, "crm", map[string]any{"clientId": "id-2"})
	if platform.KindOf(err) != platform.KindConflict || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("locked common: %v", err)
	}
	if n := f.count("PUT /sdk/apps/connections/crm/common"); n != 2 {
		t.Fatalf("locked common was retried: %d PUTs", n)
	}

	for _, empty := range []bool{false, true} {
		f.set(func() { f.recreateEmpty = empty })
		name, err := c.Recreate(ctx, "crm")
		if err != nil || name != "crm" {
			t.Fatalf("recreate (empty answer %v): %q, %v", empty, name, err)
		}
	}

	if err := c.DeleteConnection(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteConnection(ctx, "crm"); !platform.IsNotFound(err) {
		t.Fatalf("second delete: %v, want not found", err)
	}
	if err := c.Delete(ctx, "crm"); err != nil {
		t.Fatalf("provider delete of a gone connection: %v", err)
	}
	if _, err := c.GetConnection(ctx, "crm"); !platform.IsNotFound(err) {
		t.Fatalf("get deleted: %v", err)
	}
}

func desired(app, label, typ string, sections map[string]any, common map[string]any) *syncd.Desired {
	spec := map[string]any{"app": app, "label": label, "type": typ}
	if sections != nil {
		spec["sections"] = sections
	}
	if common != nil {
		spec["common"] = common
	}
	return &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: strings.ToLower(strings.ReplaceAll(label, " ", "-"))}, Spec: spec}
}

func TestObserveRequestCount(t *testing.T) {
	ctx := context.Background()
	f, c := startFake(t)
	var wants []platform.Want
	for i := range 10 {
		label := fmt.Sprintf("Conn %d", i)
		f.add("crm", label, "oauth")
		wants = append(wants, platform.Want{Desired: desired("crm", label, "oauth",
			map[string]any{"api": map[string]any{}, "parameters": []any{}}, nil)})
	}
	f.add("crm", "Unmanaged", "basic")
	before := c.Stats()
	snap, err := c.Observe(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Sub(before).Total(); got != 1+10*2 {
		t.Fatalf("Observe cost %d requests, want %d", got, 1+10*2)
	}
	if len(snap.Objects) != 11 {
		t.Fatalf("objects = %d, want 11 (10 matched + 1 listed)", len(snap.Objects))
	}
	want := syncd.Live{Kind: syncd.MakeConnection, RemoteID: "crm", Spec: map[string]any{
		"app": "crm", "label": "Conn 0", "type": "oauth",
		"sections": map[string]any{"api": map[string]any{}, "parameters": []any{}},
	}}
	if diff := cmp.Diff(want, snap.Objects[0]); diff != "" {
		t.Fatalf("first object (-want +got):\n%s", diff)
	}
}

func TestObserveMatching(t *testing.T) {
	ctx := context.Background()
	f, c := startFake(t)
	f.add("crm", "Dup", "oauth")  // crm
	f.add("crm", "Dup", "oauth")  // crm2
	f.add("crm", "Solo", "basic") // crm3
	f.add("erp", "Other", "basic")
	withCSN := desired("crm", "Solo", "basic", nil, map[string]any{"x": "y"})
	withCSN.Spec["connectedSystemName"] = nil
	wants := []platform.Want{
		{Desired: desired("crm", "Dup", "oauth", map[string]any{"api": map[string]any{}}, nil)}, // ambiguous: nothing fetched
		{Desired: withCSN}, // natural key: GET + common
		{RemoteID: "erp"},  // delete candidate not listed: GET
		{RemoteID: "gone"}, // 404: Gone
		{Desired: desired("crm", "Bound", "basic", nil, nil), RemoteID: "missing"}, // bound but deleted
	}
	before := c.Stats()
	snap, err := c.Observe(ctx, wants)
	if err != nil {
		t.Fatal(err)
	}
	// 1 list + GET crm3 + common crm3 + GET erp + GET gone + GET missing.
	if got := c.Stats().Sub(before).Total(); got != 6 {
		t.Fatalf("requests = %d, want 6: %v", got, f.log())
	}
	if diff := cmp.Diff([]string{"gone", "missing"}, snap.Gone); diff != "" {
		t.Fatalf("gone (-want +got):\n%s", diff)
	}
	ids := map[string]map[string]any{}
	for _, o := range snap.Objects {
		ids[o.RemoteID] = o.Spec
	}
	want := map[string]map[string]any{
		"crm":  {"app": "crm", "label": "Dup", "type": "oauth"},
		"crm2": {"app": "crm", "label": "Dup", "type": "oauth"},
		"crm3": {"app": "crm", "label": "Solo", "type": "basic", "connectedSystemName": nil, "common": map[string]any{}},
		"erp":  {"label": "Other", "type": "basic", "connectedSystemName": nil},
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
}

func TestObserveSectionGoneMeanwhile(t *testing.T) {
	f, c := startFake(t)
	f.add("crm", "A", "basic")
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/api") {
			makeErr(w, 404, "Connection not found")
			return true
		}
		return false
	}
	snap, err := c.Observe(context.Background(), []platform.Want{{RemoteID: "crm", Desired: desired("crm", "A", "basic", map[string]any{"api": map[string]any{}}, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Objects) != 0 || len(snap.Gone) != 1 {
		t.Fatalf("snapshot %+v: want the connection gone", snap)
	}
}

func TestObserveErrorsNeverLookLikeDeletion(t *testing.T) {
	for _, status := range []int{401, 403, 429, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f, c := startFake(t)
			f.add("crm", "A", "basic")
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v2/sdk/apps/connections/") {
					makeErr(w, status, "nope")
					return true
				}
				return false
			}
			_, err := c.Observe(context.Background(), []platform.Want{{RemoteID: "other"}})
			if err == nil || platform.IsNotFound(err) {
				t.Fatalf("Observe error = %v, want a non-404 error", err)
			}
		})
	}
}

func TestHTMLNotFoundIsNotGone(t *testing.T) {
	f, c := startFake(t)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		w.Write([]byte("<html>nginx</html>"))
		return true
	}
	err := c.DeleteConnection(context.Background(), "x")
	if platform.IsNotFound(err) {
		t.Fatal("an HTML 404 was taken for a deleted object")
	}
	if err := c.Delete(context.Background(), "x"); err == nil {
		t.Fatal("provider delete succeeded on an HTML 404")
	}
}

func TestCreateWritesEverything(t *testing.T) {
	ctx := context.Background()
	f, c := startFake(t)
	raw := "[\n  // the user's comment\n  {\"name\": \"apiKey\", \"type\": \"text\"},\n]"
	d := desired("crm", "Main", "apikey",
		map[string]any{"parameters": []any{map[string]any{"name": "apiKey", "type": "text"}}, "scopes": map[string]any{"read": "Read"}},
		map[string]any{"clientId": "abc"})
	d.Spec["connectedSystemName"] = "sys"
	d.RawSections = map[string]string{"parameters": raw}
	name, err := c.Create(ctx, d)
	if err != nil || name != "crm" {
		t.Fatalf("create: %q, %v", name, err)
	}
	if got := f.body("PUT /sdk/apps/connections/crm/parameters"); got != raw {
		t.Errorf("parameters written as %q, want the file's text", got)
	}
	if got := f.body("POST /sdk/apps/crm/connections"); got != `{"label":"Main","type":"apikey"}` {
		t.Errorf("create body %s", got)
	}
	snap, err := c.Observe(ctx, []platform.Want{{Desired: d, RemoteID: name}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"app": "crm", "label": "Main", "type": "apikey", "connectedSystemName": "sys",
		"sections": d.Spec["sections"], "common": map[string]any{"clientId": "abc"}}
	if diff := cmp.Diff(want, snap.Objects[0].Spec); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}

func TestAmbiguousCreate(t *testing.T) {
	tests := []struct {
		name      string
		applied   bool // the server created before failing
		preexist  int  // same label and type already there
		wantConns int
		wantErr   bool
		wantPosts int
	}{
		{name: "applied then 502: found, not duplicated", applied: true, wantConns: 1, wantPosts: 1},
		{name: "not applied, 502: posted once more", applied: false, wantConns: 1, wantPosts: 2},
		{name: "two now exist: error", applied: true, preexist: 1, wantConns: 2, wantErr: true, wantPosts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := startFake(t)
			for range tt.preexist {
				f.add("crm", "Main", "basic")
			}
			var failed atomic.Bool
			f.hook = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != "POST" || failed.Swap(true) {
					return false
				}
				if tt.applied {
					f.add("crm", "Main", "basic")
				}
				makeErr(w, 502, "Bad gateway")
				return true
			}
			name, err := c.Create(context.Background(), desired("crm", "Main", "basic", nil, nil))
			if (err != nil) != tt.wantErr {
				t.Fatalf("create: %q, %v", name, err)
			}
			if n := f.size(); n != tt.wantConns {
				t.Fatalf("%d connections exist, want %d", n, tt.wantConns)
			}
			if n := f.count("POST"); n != tt.wantPosts {
				t.Fatalf("%d POSTs, want %d", n, tt.wantPosts)
			}
		})
	}
}

func TestUpdateGroups(t *testing.T) {
	ctx := context.Background()
	f, c := startFake(t)
	name := f.add("crm", "Old", "basic")
	d := desired("crm", "New", "basic", map[string]any{"api": map[string]any{"a": 1.0}, "scope": []any{"x"}},
		map[string]any{"clientSecret": "s3cret-value"})
	d.Spec["connectedSystemName"] = nil
	f.set(func() { f.requests = nil })
	err := c.Update(ctx, name, d, []string{"/label", "/connectedSystemName", "/sections/api/a", "/common/clientSecret"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATCH /sdk/apps/connections/crm", "PUT /sdk/apps/connections/crm/api", "PUT /sdk/apps/connections/crm/common"}
	if diff := cmp.Diff(want, f.log()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	if got := f.body("PATCH /sdk/apps/connections/crm"); got != `{"connectedSystemName":null,"label":"New"}` {
		t.Errorf("patch body %s", got)
	}
	if err := c.Update(ctx, name, d, []string{"/type"}); err == nil {
		t.Fatal("type change accepted in place")
	}
}

func TestErrorsHideSecrets(t *testing.T) {
	f, c := startFake(t)
	name := f.add("crm", "A", "basic")
	// A server that echoes what it was sent.
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == "PUT" {
			makeErr(w, 400, "cannot store {\"clientSecret\":\"s3cret-value\"}")
			return true
		}
		return false
	}
	d := desired("crm", "A", "basic", nil, map[string]any{"clientSecret": "s3cret-value"})
	err := c.Update(context.Background(), name, d, []string{"/common/clientSecret"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"s3cret-value", fakeToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q contains %q", err, s)
		}
	}
	if platform.KindOf(err) != platform.KindInvalid {
		t.Fatalf("kind = %v", platform.KindOf(err))
	}
}

func TestPersistent5xx(t *testing.T) {
	f, c := startFake(t)
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		makeErr(w, 503, "Service Unavailable")
		return true
	}
	_, err := c.ListConnections(context.Background(), "crm")
	var ae *platform.APIError
	if !errors.As(err, &ae) || ae.Kind != platform.KindTransient || ae.Op != "GET /sdk/apps/crm/connections" || ae.Status != 503 {
		t.Fatalf("error = %#v", err)
	}
	if !strings.Contains(err.Error(), "GET /sdk/apps/crm/connections") || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("message %q does not name the op and attempts", err)
	}
	if n := f.count("GET"); n != 3 {
		t.Fatalf("attempts = %d, want 3", n)
	}
}

func TestUnauthorized(t *testing.T) {
	f := newFakeMake()
	srv := httptestServer(t, f)
	c, _ := New(Config{BaseURL: srv + "/api/v2", Token: "wrong-token-value", RequestsPerMinute: 600000, Retry: testRetry})
	_, err := c.ListConnections(context.Background(), "crm")
	if platform.KindOf(err) != platform.KindUnauthorized || strings.Contains(err.Error(), "wrong-token-value") {
		t.Fatalf("error = %v", err)
	}
}

func TestCreateAnswerWithoutNameIsResolvedByLookup(t *testing.T) {
	f, c := startFake(t)
	var answered atomic.Bool
	f.hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != "POST" || answered.Swap(true) {
			return false
		}
		f.add("crm", "Main", "basic")
		writeJSON(w, 200, map[string]any{})
		return true
	}
	name, err := c.Create(context.Background(), desired("crm", "Main", "basic", nil, nil))
	if err != nil || name != "crm" || f.size() != 1 || f.count("POST") != 1 {
		t.Fatalf("create: %q, %v; %d connections, %d POSTs", name, err, f.size(), f.count("POST"))
	}
}
