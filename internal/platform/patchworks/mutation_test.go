package patchworks

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
)

// Tests written for mutants that survived `make mutation`.

const listOf3 = `{"data": [
	{"id": 100, "name": "C", "variables": []},
	{"id": 9, "name": "A", "variables": [{"id": 901, "key": "shop_domain", "value": "a.example", "secret": false}]},
	{"id": 10, "name": "B", "variables": []}],
	"links": {}, "meta": {"current_page": 1, "last_page": 1, "per_page": 100, "total": 3}}`

// TestObserveSortsIDsNumerically: ids 9, 10, 100 come back in that order,
// not as strings (10, 100, 9).
func TestObserveSortsIDsNumerically(t *testing.T) {
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { reply(w, 200, listOf3) })
	snap, err := c.Observe(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range snap.Objects {
		ids = append(ids, o.RemoteID)
	}
	if diff := cmp.Diff([]string{"9", "10", "100"}, ids); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
}

const connector9 = `{"data": {"id": 9, "name": "A", "variables": [{"id": 901, "key": "shop_domain", "value": "a.example", "secret": false}]}}`

// TestUpdateBodies: a path names the one top-level field sent; the root
// path sends every declared, writable field; variables known from a read
// carry their ids so that the API updates them instead of adding copies.
func TestUpdateBodies(t *testing.T) {
	var bodies []map[string]any
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method == "PUT" {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Errorf("PUT body: %v", err)
			}
			bodies = append(bodies, m)
			reply(w, 200, connector9)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/connectors/9") {
			// An update that writes variables reads the connector first.
			reply(w, 200, connector9)
			return
		}
		reply(w, 200, listOf3)
	})
	ctx := context.Background()
	if _, err := c.Observe(ctx, []platform.Want{{RemoteID: "9"}}); err != nil {
		t.Fatal(err)
	}
	d := desiredConnector("A")
	if err := c.Update(ctx, "9", d, []string{"/timezone"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "9", d, []string{"/variables/shop_domain/value"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "9", d, []string{""}); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 {
		t.Fatalf("%d PUTs, want 3: %v", len(bodies), bodies)
	}
	if diff := cmp.Diff(map[string]any{"timezone": "Europe/London"}, bodies[0]); diff != "" {
		t.Errorf("PUT for /timezone (-want +got):\n%s", diff)
	}
	vars, _ := bodies[1]["variables"].([]any)
	ids := map[string]any{}
	for _, v := range vars {
		m, _ := v.(map[string]any)
		ids[m["key"].(string)] = m["id"]
	}
	if diff := cmp.Diff(map[string]any{"api_token": nil, "shop_domain": 901.0}, ids); diff != "" {
		t.Errorf("variable ids in the PUT (-want +got):\n%s", diff)
	}
	for _, f := range []string{"name", "timezone", "date_format", "variables"} {
		if _, ok := bodies[2][f]; !ok {
			t.Errorf("PUT for the whole connector lacks %s: %v", f, bodies[2])
		}
	}
}
