package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/testenv"
)

const acceptMake = `# yaml-language-server: $schema=../schema.json
# The CRM connection. Keep this comment.
apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: crm
spec:
  app: app-one
  type: apikey
  label: "CRM main"   # the label people see
  sections:
    api:
      $file: crm.api.jsonc
    parameters:
      - name: apiKey
        type: password   # never shown
        label: API key
  common:
    clientId: id-crm
    clientSecret: ${env:SECRET_A}
`

const acceptAPI = `{
  // the endpoint that checks the key
  "url": "https://api.example.com/v1/me",
  "method": "GET", // always GET
}
`

const acceptPW = `apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: shop
spec:
  name: "Shop"
  authentication_implementation_id: "42"
  # London, for now
  timezone: Europe/London
  date_format: d/m/Y H:i
  rate_limit_unit: minute
  rate_limit_duration: 60
  variables:
    - key: shop_domain
      value: shop.example.com   # the storefront
      label: Shop domain
      secret: false
    - key: api_token
      value: ${env:SECRET_B}
      label: API token
      secret: true
`

// TestDriftAccept: drift accept writes the live values of the drifted
// fields into the manifest and its $file JSONC section keeping comments,
// order and layout, never a secret (the reference stays), --field limits
// it, --dry-run shows the diff and writes nothing, and afterwards the plan
// shows no change for what was accepted.
func TestDriftAccept(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	e.Write(t, "make/crm.yaml", acceptMake)
	e.Write(t, "make/crm.api.jsonc", acceptAPI)
	e.Write(t, "pw/shop.yaml", acceptPW)
	if r := syncdCmd(t, e, nil, "apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	conn := e.Emu.MakeConnections("app-one")[0].Name
	label, liveSecret := "CRM (renamed in Make)", "live-secret-DDDD-never-print"
	api := strings.Replace(acceptAPI, "/v1/me", "/v2/me", 1)
	if err := e.Emu.EditMakeConnection(conn, emulator.MakeEdit{
		Label: &label, Sections: map[string]string{"api": api},
		Common: map[string]any{"clientId": "id-crm", "clientSecret": liveSecret},
	}); err != nil {
		t.Fatal(err)
	}
	pw := e.Emu.Connectors()[0]
	if err := e.Emu.EditConnector(pw.ID, map[string]any{"timezone": "Europe/Paris",
		"variables": []any{map[string]any{"key": "shop_domain", "value": "shop.example.fr"}}}); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, e.Dir)

	// --dry-run: a diff, nothing written.
	r := syncdCmd(t, e, nil, "drift", "accept", "MakeConnection/crm", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, `-  label: "CRM main"   # the label people see`) ||
		!strings.Contains(r.stdout, `+  label: "CRM (renamed in Make)"   # the label people see`) ||
		!strings.Contains(r.stdout, `+  "url": "https://api.example.com/v2/me",`) || !strings.Contains(r.stderr, "skipped /common/clientSecret") {
		t.Errorf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, liveSecret) {
		t.Errorf("the dry run shows the live secret:\n%s%s", r.stdout, r.stderr)
	}
	if diff := readTree(t, e.Dir); !equalTrees(before, diff) {
		t.Error("--dry-run wrote files")
	}

	// --field limits it: only the label.
	if r := syncdCmd(t, e, nil, "drift", "accept", "MakeConnection/crm", "--field", "/label"); r.code != 0 {
		t.Fatalf("accept --field /label: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	after := readTree(t, e.Dir)
	wantMake := strings.Replace(acceptMake, `"CRM main"`, `"CRM (renamed in Make)"`, 1)
	if after[filepath.Join("make", "crm.yaml")] != wantMake || after[filepath.Join("make", "crm.api.jsonc")] != acceptAPI {
		t.Errorf("after --field /label:\n%s\n%s", after[filepath.Join("make", "crm.yaml")], after[filepath.Join("make", "crm.api.jsonc")])
	}
	// Then the rest: the section, byte for byte what Make now has; the
	// secret's reference stays.
	if r := syncdCmd(t, e, nil, "drift", "accept", "makeconnection/crm"); r.code != 0 {
		t.Fatalf("accept: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	after = readTree(t, e.Dir)
	if after[filepath.Join("make", "crm.yaml")] != wantMake || after[filepath.Join("make", "crm.api.jsonc")] != api {
		t.Errorf("after accept:\n%s\n%s", after[filepath.Join("make", "crm.yaml")], after[filepath.Join("make", "crm.api.jsonc")])
	}
	if r := syncdCmd(t, e, nil, "drift", "accept", "PatchworksConnector/shop"); r.code != 0 {
		t.Fatalf("accept shop: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantPW := strings.Replace(strings.Replace(acceptPW, "timezone: Europe/London", "timezone: Europe/Paris", 1),
		"value: shop.example.com   # the storefront", "value: shop.example.fr   # the storefront", 1)
	if got := readTree(t, e.Dir)[filepath.Join("pw", "shop.yaml")]; got != wantPW {
		t.Errorf("shop after accept:\n%s\nwant:\n%s", got, wantPW)
	}
	for p, text := range readTree(t, e.Dir) {
		if strings.Contains(text, liveSecret) {
			t.Errorf("%s holds the live secret", p)
		}
	}

	// The plan shows nothing but the secret, which git still decides.
	r = syncdCmd(t, e, nil, "plan", "--format", "json")
	if !strings.Contains(r.stdout, `"/common/clientSecret"`) || strings.Count(r.stdout, `"path"`) != 1 {
		t.Errorf("plan after accept: %s%s", r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "drift", "accept", "PatchworksConnector/shop"); r.code != 0 || !strings.Contains(r.stdout, "no drifted field") {
		t.Errorf("accept with nothing drifted: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := syncdCmd(t, e, nil, "drift", "accept", "MakeConnection/nope"); r.code != 1 {
		t.Errorf("accept of an undeclared resource: exit %d", r.code)
	}
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
