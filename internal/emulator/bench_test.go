package emulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkPatchworksListPage serves one page of 100 connectors with their
// variables, the request a Patchworks snapshot repeats.
func BenchmarkPatchworksListPage(b *testing.B) {
	srv := New(Options{})
	var seed []map[string]any
	for i := range 250 {
		seed = append(seed, map[string]any{"name": fmt.Sprintf("c%03d", i), "authentication_implementation_id": "1", "timezone": "UTC",
			"date_format": "Y", "rate_limit_unit": "minute", "rate_limit_duration": 60,
			"variables": []any{map[string]any{"key": "a", "value": "1"}, map[string]any{"key": "s", "value": "x", "secret": true}}})
	}
	if _, err := srv.Seed(Seed{Patchworks: SeedPatchworks{Connectors: seed}}); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/connectors?per_page=100&page=2&include=variables", nil)
	req.Header.Set("Authorization", DefaultPatchworksToken)
	req.Header.Set("Accept", "application/json")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkMakeSectionPut writes a JSONC section of about 4 KB.
func BenchmarkMakeSectionPut(b *testing.B) {
	srv := New(Options{})
	res, err := srv.Seed(Seed{Make: SeedMake{Apps: map[string]SeedApp{"app": {Connections: []SeedConnection{{Label: "l", Type: "oauth"}}}}}})
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("{\n")
	for i := range 80 {
		fmt.Fprintf(&sb, "  // field %d\n  \"k%d\": {\"url\": \"https://x/%d\", \"n\": %d},\n", i, i, i, i)
	}
	sb.WriteString("}")
	body := sb.String()
	path := "/api/v2/sdk/apps/connections/" + res.Make["app"][0] + "/api"
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest("PUT", path, strings.NewReader(body))
		req.Header.Set("Authorization", "Token "+DefaultMakeToken)
		req.Header.Set("Content-Type", "application/jsonc")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
