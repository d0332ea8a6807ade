package patchworks

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// TestObserveSharesWhatEqualsTheManifest: a variable read exactly as its
// manifest declares it is the manifest's own map in the live spec, for a
// connector matched by RemoteID (even renamed), by name, or read on its
// own because the listing did not show it. Comparisons are unchanged by
// it (only equal values are shared); the memory of a listing of thousands
// of connectors is what it saves.
func TestObserveSharesWhatEqualsTheManifest(t *testing.T) {
	const variable = `{"id": 9, "key": "host", "value": "h.example", "label": "Host", "secret": false, "locked": false,
		"pivot": {"connector_id": 1, "alias": "h"}}`
	conn := func(id, name string) string {
		return `{"id": ` + id + `, "name": "` + name + `", "timezone": "UTC", "variables": [` + variable + `]}`
	}
	_, c := serve(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Path {
		case "/api/v1/connectors":
			reply(w, 200, `{"data": [`+conn("1", "By name")+`, `+conn("2", "Renamed live")+`],
				"meta": {"current_page": 1, "last_page": 1, "per_page": 100, "total": 2}}`)
		case "/api/v1/connectors/3":
			reply(w, 200, `{"data": `+conn("3", "Unlisted")+`}`)
		default:
			reply(w, 404, `{"message": "Not Found"}`)
		}
	})
	desired := func(name string) *syncd.Desired {
		return &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: name}, Spec: map[string]any{
			"name": name, "timezone": "UTC",
			"variables": map[string]any{"host": map[string]any{"key": "host", "value": "h.example", "label": "Host",
				"secret": false, "locked": false, "pivot": map[string]any{"alias": "h"}}},
		}}
	}
	byName, byID, unlisted := desired("By name"), desired("Renamed in git"), desired("Unlisted")
	snap, err := c.Observe(context.Background(), []platform.Want{
		{Desired: byName}, {RemoteID: "2", Desired: byID}, {RemoteID: "3", Desired: unlisted},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Objects) != 3 {
		t.Fatalf("objects = %+v, want three", snap.Objects)
	}
	host := func(spec map[string]any) any { return spec["variables"].(map[string]any)["host"] }
	for i, d := range []*syncd.Desired{byName, byID, unlisted} {
		live, want := host(snap.Objects[i].Spec), host(d.Spec)
		if !reflect.DeepEqual(live, want) {
			t.Fatalf("%s: live variable %v, want %v", d.Key.Name, live, want)
		}
		if reflect.ValueOf(live).Pointer() != reflect.ValueOf(want).Pointer() {
			t.Errorf("%s: the live variable equal to the manifest's is not the manifest's own", d.Key.Name)
		}
	}
}
