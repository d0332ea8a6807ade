package registry

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// TestEveryKindHasOnePlatform checks that the registry lists one platform
// per kind, with distinct names, and that Kinds is its list.
func TestEveryKindHasOnePlatform(t *testing.T) {
	var kinds []syncd.Kind
	names := map[string]bool{}
	seen := map[syncd.Kind]bool{}
	for _, p := range All() {
		kinds = append(kinds, p.Kind())
		if names[p.Name()] {
			t.Errorf("platform name %q registered twice", p.Name())
		}
		names[p.Name()] = true
		if seen[p.Kind()] {
			t.Errorf("kind %s registered twice", p.Kind())
		}
		seen[p.Kind()] = true
	}
	if diff := cmp.Diff(kinds, Kinds()); diff != "" {
		t.Errorf("Kinds() (-registry +Kinds):\n%s", diff)
	}
	if _, ok := For("Nope"); ok {
		t.Error("For found a platform for an unknown kind")
	}
}

// TestKeySpecReversesNaturalKey checks, for every platform, that the spec
// the executor looks a pending create up by has the journalled natural key.
func TestKeySpecReversesNaturalKey(t *testing.T) {
	for _, tc := range []struct {
		kind syncd.Kind
		nk   string
	}{
		{syncd.MakeConnection, "acme/ACME CRM (API key)"},
		{syncd.PatchworksConnector, "Shopify EU"},
	} {
		p, ok := For(tc.kind)
		if !ok {
			t.Fatalf("no platform for %s", tc.kind)
		}
		if got := p.NaturalKey(p.KeySpec(tc.nk)); got != tc.nk {
			t.Errorf("%s: NaturalKey(KeySpec(%q)) = %q", tc.kind, tc.nk, got)
		}
	}
}

// TestProvidersOnlyForConfiguredPlatforms checks that an unconfigured
// platform is left out and a half-configured one is an error naming it.
func TestProvidersOnlyForConfiguredPlatforms(t *testing.T) {
	got, err := Providers(platform.Config{Settings: map[string]platform.Values{"patchworks": {"patchworks-url": "http://127.0.0.1:1", "patchworks-token": "k"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[syncd.PatchworksConnector]; !ok || len(got) != 1 {
		t.Errorf("providers = %v, want only Patchworks", got)
	}
	_, err = Providers(platform.Config{Settings: map[string]platform.Values{"make": {"make-url": "http://127.0.0.1:1/api/v2"}}})
	if err == nil || err.Error() != "make: SYNCD_MAKE_TOKEN is not set" {
		t.Errorf("error = %v", err)
	}
	// A client's own error that names its platform is not named twice.
	_, err = Providers(platform.Config{Settings: map[string]platform.Values{"make": {"make-url": "ftp://x", "make-token": "t"}}})
	if err == nil || err.Error() != `make: base URL "ftp://x" is not an absolute http(s) URL` {
		t.Errorf("error = %v", err)
	}
	if err := NotConfigured(syncd.MakeConnection); err == nil || err.Error() !=
		"no platform configured for MakeConnection: set SYNCD_MAKE_URL (or SYNCD_MAKE_ZONE) and SYNCD_MAKE_TOKEN" {
		t.Errorf("NotConfigured = %v", err)
	}
}

// TestProvidersRejectUndeclaredSettings: a settings value no platform
// declares, or of another type than its setting, is an error naming it,
// not a setting silently left at its zero value.
func TestProvidersRejectUndeclaredSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]platform.Values
		want     string
	}{
		{"unknown platform", map[string]platform.Values{"patchwork": {"patchworks-url": "http://127.0.0.1:1"}},
			`settings of "patchwork": no platform registered by that name`},
		{"unknown setting", map[string]platform.Values{"make": {"make-rmp": 60}},
			`make: no setting "make-rmp"`},
		{"another platform's setting", map[string]platform.Values{"make": {"patchworks-url": "http://127.0.0.1:1"}},
			`make: no setting "patchworks-url"`},
		{"int for a share", map[string]platform.Values{"patchworks": {"patchworks-quota-share": 1}},
			`patchworks: setting "patchworks-quota-share" holds int, want float64`},
		{"string for an int", map[string]platform.Values{"make": {"make-rpm": "60"}},
			`make: setting "make-rpm" holds string, want int`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Providers(platform.Config{Settings: tc.settings})
			if err == nil || err.Error() != tc.want {
				t.Errorf("Providers = %v, %v; want the error %q", got, err, tc.want)
			}
		})
	}
	// Every declared setting, at its kind's type, is accepted.
	var cfg platform.Config
	for _, s := range Settings() {
		v := map[platform.SettingKind]any{platform.SettingString: "", platform.SettingInt: 60, platform.SettingShare: 0.5}[s.Kind]
		cfg.Set(s.Platform, platform.Values{s.Flag: v})
	}
	if _, err := Providers(cfg); err != nil {
		t.Errorf("Providers(every setting) = %v", err)
	}
}

// TestConfigSetCopies: Set merges a platform's values and leaves a copy
// of the Config made before unchanged (a test's tweak of its copy must not
// reach the stack's).
func TestConfigSetCopies(t *testing.T) {
	var a platform.Config
	a.Set("make", platform.Values{"make-url": "u", "make-rpm": 60})
	b := a
	b.Set("make", platform.Values{"make-rpm": 6000})
	b.Set("patchworks", platform.Values{"patchworks-url": "p"})
	if diff := cmp.Diff(map[string]platform.Values{"make": {"make-url": "u", "make-rpm": 60}}, a.Settings); diff != "" {
		t.Errorf("the copy made before (-want +got):\n%s", diff)
	}
	want := map[string]platform.Values{"make": {"make-url": "u", "make-rpm": 6000}, "patchworks": {"patchworks-url": "p"}}
	if diff := cmp.Diff(want, b.Settings); diff != "" {
		t.Errorf("after Set (-want +got):\n%s", diff)
	}
	if got := b.Values("make").Int("make-rpm"); got != 6000 {
		t.Errorf("Int(make-rpm) = %d", got)
	}
	if got := b.Values("nothing").String("x"); got != "" {
		t.Errorf("String of an unset platform = %q", got)
	}
}

// TestSecretValuesFollowEachPlatformsRules checks the one secret list every
// output redacts with: loader marks plus each platform's own rules, values
// of every length and type, and the "other:secret" pairs Basic auth encodes.
func TestSecretValuesFollowEachPlatformsRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    *syncd.Desired
		want []string
	}{
		{
			name: "Make: common keys named like secrets, and marks",
			d: &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "x"},
				Spec: map[string]any{"label": "plain label",
					"common":   map[string]any{"clientId": "abc-id", "clientSecret": "hush-hush", "apiKey": "k3y-value"},
					"sections": map[string]any{"api": map[string]any{"url": "https://resolved.example"}}},
				Sensitive: []string{"/sections/api/url"}},
			want: []string{"abc-id:hush-hush", "abc-id:k3y-value", "https://resolved.example", "hush-hush", "k3y-value"},
		},
		{
			name: "Make: every length and type",
			d: &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "x"},
				Spec: map[string]any{"common": map[string]any{"username": "bob", "password": "pw", "secretPin": 1234.0, "apiKey": true}}},
			want: []string{"1234", "bob:pw", "pw", "true"},
		},
		{
			name: "Patchworks: values of variables marked secret",
			d: &syncd.Desired{Key: syncd.Key{Kind: syncd.PatchworksConnector, Name: "x"},
				Spec: map[string]any{"name": "n", "variables": map[string]any{
					"pw":   map[string]any{"key": "pw", "value": "var-secret", "secret": true},
					"open": map[string]any{"key": "open", "value": "visible", "secret": false},
				}}},
			want: []string{"pw:var-secret", "var-secret"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := For(tc.d.Key.Kind)
			if diff := cmp.Diff(tc.want, syncd.SecretValues(tc.d, p)); diff != "" {
				t.Errorf("SecretValues (-want +got):\n%s", diff)
			}
		})
	}
}
