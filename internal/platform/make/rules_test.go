package make

import "testing"

// TestSensitiveByName: a common-data value is secret when any key on its
// path names a secret, and a common that is not an object is secret whole;
// nothing outside common is secret by name.
func TestSensitiveByName(t *testing.T) {
	live := map[string]any{"common": "not-an-object"}
	for _, tc := range []struct {
		ptr   string
		specs []map[string]any
		want  bool
	}{
		{ptr: "/common/clientSecret", want: true},
		{ptr: "/common/API_KEY", want: true},
		{ptr: "/common/accessToken/inner", want: true},
		{ptr: "/common/nested/password", want: true},
		{ptr: "/common/clientId", want: false},
		{ptr: "/common", want: false},
		{ptr: "/common", specs: []map[string]any{{}, live}, want: true},
		{ptr: "/commonX/secret", want: false},
		{ptr: "/sections/api/token", want: false},
		{ptr: "/label", want: false},
	} {
		if got := (Rules{}).Sensitive(tc.ptr, tc.specs...); got != tc.want {
			t.Errorf("Sensitive(%q) = %v, want %v", tc.ptr, got, tc.want)
		}
	}
}
