package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/desired"
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

func TestWants(t *testing.T) {
	mk := func(name, ext string) *syncd.Desired {
		return &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: name}, ExternalID: ext}
	}
	a, b, c := mk("a", ""), mk("b", "ext-b"), mk("c", "ext-c")
	set := &desired.Set{Resources: []*syncd.Desired{a, b, c}}
	bindings := map[syncd.Key]syncd.Binding{
		{Kind: syncd.MakeConnection, Name: "c"}:           {RemoteID: "bound-c"},
		{Kind: syncd.MakeConnection, Name: "gone"}:        {RemoteID: "orphan-1"},
		{Kind: syncd.PatchworksConnector, Name: "gone-p"}: {RemoteID: "7"},
	}
	type want struct {
		Name     string
		RemoteID string
	}
	flatten := func(w map[syncd.Kind][]platform.Want) map[syncd.Kind][]want {
		out := map[syncd.Kind][]want{}
		for k, ws := range w {
			for _, x := range ws {
				n := ""
				if x.Desired != nil {
					n = x.Desired.Key.Name
				}
				out[k] = append(out[k], want{n, x.RemoteID})
			}
		}
		return out
	}
	e := &Engine{}
	for _, tc := range []struct {
		name string
		req  PlanRequest
		want map[syncd.Kind][]want
	}{
		{
			name: "binding beats externalId; no prune reads no orphans",
			req:  PlanRequest{Set: set, Bindings: bindings},
			want: map[syncd.Kind][]want{syncd.MakeConnection: {{"a", ""}, {"b", "ext-b"}, {"c", "bound-c"}}},
		},
		{
			name: "prune reads every orphan of the inventory",
			req:  PlanRequest{Set: set, Bindings: bindings, Prune: true},
			want: map[syncd.Kind][]want{
				syncd.MakeConnection:      {{"a", ""}, {"b", "ext-b"}, {"c", "bound-c"}, {"", "orphan-1"}},
				syncd.PatchworksConnector: {{"", "7"}},
			},
		},
		{
			name: "a scoped plan reads only its resources, and never orphans",
			req:  PlanRequest{Set: set, Bindings: bindings, Prune: true, Scope: []syncd.Key{b.Key}},
			want: map[syncd.Kind][]want{syncd.MakeConnection: {{"b", "ext-b"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, flatten(e.Wants(tc.req))); diff != "" {
				t.Errorf("wants (-want +got):\n%s", diff)
			}
		})
	}
}
