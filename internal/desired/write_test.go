package desired

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

func TestNameFor(t *testing.T) {
	long := strings.Repeat("Very Long Label ", 8)
	tests := []struct {
		name, key, want string
	}{
		{"make key", "acme-crm/ACME CRM (OAuth)", "acme-crm-acme-crm-oauth"},
		{"patchworks name", "Shopify (prod)", "shopify-prod"},
		{"punctuation only", "!!!", "imported-"},
		{"unicode", "Café ünïcode", "caf-n-code"},
		{"long", long, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NameFor(tt.key)
			if !ValidName(got) {
				t.Fatalf("NameFor(%q) = %q, not a valid name", tt.key, got)
			}
			if tt.want != "" && !strings.HasPrefix(got, tt.want) {
				t.Errorf("NameFor(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
	if NameFor(long+"a") == NameFor(long+"b") {
		t.Error("two long keys that differ only at the end got the same name")
	}
}

// TestWriteManifestRoundTrip: what import writes loads back, given the
// placeholder variables, to the live object's spec, and holds no secret.
func TestWriteManifestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		live syncd.Live
		// want is the spec Load must return; nil means live.Spec.
		want     map[string]any
		wantEnv  []Placeholder
		notInYML []string
	}{
		{
			name: "make oauth with every section",
			live: syncd.Live{Kind: syncd.MakeConnection, RemoteID: "acme-crm3", Spec: map[string]any{
				"app": "acme-crm", "type": "oauth", "label": "ACME: \"CRM\" #1", "connectedSystemName": nil,
				"sections": map[string]any{
					"api":         map[string]any{"url": "https://x/{{a}}", "n": 3.0, "f": 0.25, "big": 1e21, "yes": "yes", "num": "012", "null": "null", "multi": "line 1\nline 2\n", "empty": map[string]any{}, "list": []any{}},
					"parameters":  []any{map[string]any{"name": "k", "type": "text", "required": true}},
					"scopes":      map[string]any{"read": "Read"},
					"scope":       []any{"read", true, nil, -2.0},
					"install":     map[string]any{"a/b": map[string]any{"~x": 1.0}},
					"installSpec": []any{},
				},
				"common": map[string]any{"clientId": "abc", "clientSecret": "LIVE-SECRET-1", "nested": map[string]any{"refresh_token": "LIVE-SECRET-2", "plain": "ok"}, "apiKey": nil},
			}},
			wantEnv: []Placeholder{
				{Env: "SYNCD_ACME_OAUTH_APIKEY", Pointer: "/common/apiKey"},
				{Env: "SYNCD_ACME_OAUTH_CLIENTSECRET", Pointer: "/common/clientSecret"},
				{Env: "SYNCD_ACME_OAUTH_NESTED_REFRESH_TOKEN", Pointer: "/common/nested/refresh_token"},
			},
			notInYML: []string{"LIVE-SECRET-1", "LIVE-SECRET-2"},
		},
		{
			name: "make legacy null sections",
			live: syncd.Live{Kind: syncd.MakeConnection, RemoteID: "x", Spec: map[string]any{
				"app": "a", "type": "basic", "label": "L",
				"sections": map[string]any{"api": nil, "parameters": nil, "scopes": nil, "scope": nil, "install": nil, "installSpec": nil},
			}},
			want: map[string]any{"app": "a", "type": "basic", "label": "L", "sections": map[string]any{
				"api": map[string]any{}, "parameters": []any{}, "scopes": map[string]any{}, "scope": []any{}, "install": map[string]any{}, "installSpec": []any{},
			}},
		},
		{
			name: "make apikey with server fields and no sections",
			live: syncd.Live{Kind: syncd.MakeConnection, RemoteID: "acme-crm", Spec: map[string]any{
				"app": "acme-crm", "type": "apikey", "label": "Key", "name": "acme-crm", "appVersion": 2.0,
			}},
			want: map[string]any{"app": "acme-crm", "type": "apikey", "label": "Key"},
		},
		{
			name: "patchworks with secret variables",
			live: syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: "17", Spec: map[string]any{
				"id": 17.0, "created_at": "2026-01-01T00:00:00Z",
				"name": "Shopify (prod)", "authentication_implementation_id": "42", "type": "standard",
				"timezone": "Europe/London", "date_format": "d/m/Y H:i", "rate_limit_unit": "minute",
				"rate_limit_duration": 60.0, "connection_pool_id": nil, "certificate_id": "7",
				"variables": map[string]any{
					"token":  map[string]any{"id": 5.0, "key": "token", "value": "LIVE-SECRET-3", "label": "Token", "secret": true, "locked": false, "pivot": map[string]any{"alias": "t", "configurable": true, "required": true, "advanced": false, "connector_id": 17.0}},
					"domain": map[string]any{"key": "domain", "value": "1.50", "label": nil, "secret": false, "locked": true},
				},
			}},
			want: map[string]any{
				"name": "Shopify (prod)", "authentication_implementation_id": "42", "type": "standard",
				"timezone": "Europe/London", "date_format": "d/m/Y H:i", "rate_limit_unit": "minute",
				"rate_limit_duration": 60.0, "connection_pool_id": nil, "certificate_id": "7",
				"variables": map[string]any{
					"token":  map[string]any{"key": "token", "value": "LIVE-SECRET-3", "label": "Token", "secret": true, "locked": false, "pivot": map[string]any{"alias": "t", "configurable": true, "required": true, "advanced": false}},
					"domain": map[string]any{"key": "domain", "value": "1.50", "label": nil, "secret": false, "locked": true},
				},
			},
			wantEnv:  []Placeholder{{Env: "SYNCD_SHOPIFY_PROD_TOKEN", Pointer: "/variables/token/value"}},
			notInYML: []string{"LIVE-SECRET-3"},
		},
		{
			name: "patchworks write-only secret reads back null",
			live: syncd.Live{Kind: syncd.PatchworksConnector, RemoteID: "18", Spec: map[string]any{
				"name": "N", "authentication_implementation_id": "1", "timezone": "UTC", "date_format": "Y",
				"rate_limit_unit": "day", "rate_limit_duration": 1.0,
				"variables": map[string]any{"s": map[string]any{"key": "s", "value": nil, "secret": true}},
			}},
			want: map[string]any{
				"name": "N", "authentication_implementation_id": "1", "timezone": "UTC", "date_format": "Y",
				"rate_limit_unit": "day", "rate_limit_duration": 1.0,
				"variables": map[string]any{"s": map[string]any{"key": "s", "value": "from-env", "secret": true}},
			},
			wantEnv: []Placeholder{{Env: "SYNCD_N_S", Pointer: "/variables/s/value"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, _ := registry.For(tt.live.Kind)
			name := NameFor(pl.NaturalKey(tt.live.Spec))
			if tt.live.Kind == syncd.MakeConnection && tt.live.Spec["type"] == "oauth" {
				name = "acme-oauth"
			}
			ph := Placeholders(tt.live, name)
			if diff := cmp.Diff(tt.wantEnv, ph); diff != "" {
				t.Errorf("placeholders (-want +got):\n%s", diff)
			}
			var buf bytes.Buffer
			if err := WriteManifest(&buf, tt.live, name); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, s := range tt.notInYML {
				if strings.Contains(out, s) {
					t.Fatalf("secret %q written:\n%s", s, out)
				}
			}
			// The secrets come back from the placeholders' variables.
			envs := map[string]string{}
			for _, p := range ph {
				v := "from-env"
				if cur := valueAt(tt.live.Spec, p.Pointer); cur != nil {
					v = cur.(string)
				}
				envs[p.Env] = v
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "imported.yaml"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			set, err := Load(dir, env(envs))
			if err != nil {
				t.Fatalf("output does not load: %v\n%s", err, out)
			}
			if len(set.Resources) != 1 {
				t.Fatalf("loaded %d resources", len(set.Resources))
			}
			d := set.Resources[0]
			want := tt.want
			if want == nil {
				want = tt.live.Spec
			}
			if tt.name == "make oauth with every section" {
				// A secret that was null live comes back as its variable.
				want = redact(want, nil).(map[string]any)
				want["common"].(map[string]any)["apiKey"] = "from-env"
			}
			if diff := cmp.Diff(want, d.Spec); diff != "" {
				t.Errorf("round trip (-want +got):\n%s\n%s", diff, out)
			}
			if d.ExternalID != tt.live.RemoteID || d.Key.Name != name {
				t.Errorf("identity: externalId %q name %q", d.ExternalID, d.Key.Name)
			}
			for _, p := range ph {
				if !d.IsSensitive(p.Pointer) {
					t.Errorf("%s not sensitive after load", p.Pointer)
				}
			}
		})
	}
}

func valueAt(v any, ptr string) any {
	for _, tok := range syncd.SplitPointer(ptr) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[tok]
	}
	return v
}

func TestWriteManifestRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteManifest(&buf, syncd.Live{Kind: syncd.MakeConnection}, "Bad Name"); err == nil {
		t.Error("invalid name accepted")
	}
	if err := WriteManifest(&buf, syncd.Live{Kind: "Other"}, "ok"); err == nil {
		t.Error("unknown kind accepted")
	}
}
