package main

import (
	"testing"

	"github.com/syncd/syncd/internal/syncd"
)

func TestChangedPathsIsShort(t *testing.T) {
	fc := func(paths ...string) []syncd.FieldChange {
		out := make([]syncd.FieldChange, len(paths))
		for i, p := range paths {
			out[i] = syncd.FieldChange{Path: p}
		}
		return out
	}
	for _, tc := range []struct {
		in   []syncd.FieldChange
		want string
	}{
		{nil, ""},
		{fc("/label"), "/label"},
		{fc("/a", "/b", "/c"), "/a,/b,/c"},
		{fc("/a", "/b", "/c", "/d", "/e"), "/a,/b,/c,… (+2)"},
	} {
		if got := changedPaths(tc.in); got != tc.want {
			t.Errorf("changedPaths(%d paths) = %q, want %q", len(tc.in), got, tc.want)
		}
	}
}
