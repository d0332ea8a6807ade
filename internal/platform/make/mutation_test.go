package make

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Tests written for mutants that survived `make mutation`.

// TestUpdateWholeSections: a change at /sections itself (a section added or
// removed) rewrites every declared section, in the API's order.
func TestUpdateWholeSections(t *testing.T) {
	f, c := startFake(t)
	name := f.add("crm", "A", "basic")
	d := desired("crm", "A", "basic", map[string]any{"api": map[string]any{"a": 1.0}, "scope": []any{"x"}}, nil)
	f.set(func() { f.requests = nil })
	if err := c.Update(context.Background(), name, d, []string{"/sections"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"PUT /sdk/apps/connections/crm/api", "PUT /sdk/apps/connections/crm/scope"}
	if diff := cmp.Diff(want, f.log()); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
}

// TestErrorMessageCode: Make's error code is appended in brackets when the
// body has one, and nothing is appended when it has none.
func TestErrorMessageCode(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"message": "Not found", "detail": "Connection not found", "code": "SC404"}`, "Not found: Connection not found [SC404]"},
		{`{"message": "Not found", "detail": "Connection not found"}`, "Not found: Connection not found"},
		{`{"code": "IM005"}`, "[IM005]"},
	}
	for _, tt := range tests {
		if got := errorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
