package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/syncd/syncd/internal/emulator"
)

// Fleet is a generated estate: Make connections spread evenly over Apps
// apps, each with two declared sections (api, parameters) and common data,
// and Patchworks connectors with one plain variable.
type Fleet struct {
	Make       int
	Apps       int
	Patchworks int
}

// Resources is the number of manifests the fleet has.
func (f Fleet) Resources() int { return f.Make + f.Patchworks }

// App names the app of Make connection i.
func (f Fleet) App(i int) string { return fmt.Sprintf("app-%03d", i%max(1, f.Apps)) }

// AppNames are the fleet's Make apps: an emulator must know them (Make
// answers 404 for an app that does not exist).
func (f Fleet) AppNames() []string {
	out := make([]string, 0, max(1, f.Apps))
	for i := range max(1, f.Apps) {
		out = append(out, f.App(i))
	}
	return out
}

// MakeName and PatchworksName are the manifests' metadata.name.
func MakeName(i int) string       { return fmt.Sprintf("mk-%05d", i) }
func PatchworksName(i int) string { return fmt.Sprintf("pw-%05d", i) }

// MakeLabel and ConnectorName are the natural keys.
func MakeLabel(i int) string     { return fmt.Sprintf("Connection %05d", i) }
func ConnectorName(i int) string { return fmt.Sprintf("Connector %05d", i) }

// MakeFile and PatchworksFile are the manifests' paths in the directory.
func MakeFile(i int) string       { return filepath.Join("make", MakeName(i)+".yaml") }
func PatchworksFile(i int) string { return filepath.Join("patchworks", PatchworksName(i)+".yaml") }

// MakeURL is the api section's url; version distinguishes edits.
func MakeURL(i, version int) string {
	return fmt.Sprintf("https://api.example.com/v%d/%05d", version, i)
}

// MakeManifest is Make connection i's manifest at the given version.
func (f Fleet) MakeManifest(i, version int) string {
	return fmt.Sprintf(`apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: %s
spec:
  app: %s
  type: apikey
  label: %q
  sections:
    api:
      url: %s
      headers:
        x-api-key: "{{connection.apiKey}}"
    parameters:
      - name: apiKey
        type: password
        label: API key
  common:
    clientId: id-%05d
`, MakeName(i), f.App(i), MakeLabel(i), MakeURL(i, version), i)
}

// PatchworksManifest is connector i's manifest.
func PatchworksManifest(i int) string {
	return fmt.Sprintf(`apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: %s
spec:
  name: %q
  authentication_implementation_id: "42"
  timezone: Europe/London
  date_format: d/m/Y H:i
  rate_limit_unit: minute
  rate_limit_duration: 60
  variables:
    - key: shop_domain
      value: shop-%05d.example.com
      label: Shop domain
      secret: false
`, PatchworksName(i), ConnectorName(i), i)
}

// Write writes one manifest per file under dir.
func (f Fleet) Write(dir string) error {
	for _, sub := range []string{"make", "patchworks"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for i := range f.Make {
		if err := os.WriteFile(filepath.Join(dir, MakeFile(i)), []byte(f.MakeManifest(i, 1)), 0o644); err != nil {
			return err
		}
	}
	for i := range f.Patchworks {
		if err := os.WriteFile(filepath.Join(dir, PatchworksFile(i)), []byte(PatchworksManifest(i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Seed is the emulator seed holding exactly what the manifests (version 1)
// declare, so that a plan of the fleet changes nothing.
func (f Fleet) Seed() emulator.Seed {
	sd := emulator.Seed{Make: emulator.SeedMake{Apps: map[string]emulator.SeedApp{}}}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	for i := range f.Make {
		app := sd.Make.Apps[f.App(i)]
		app.Connections = append(app.Connections, emulator.SeedConnection{
			Label: MakeLabel(i), Type: "apikey",
			Sections: map[string]json.RawMessage{
				"api":        raw(map[string]any{"url": MakeURL(i, 1), "headers": map[string]any{"x-api-key": "{{connection.apiKey}}"}}),
				"parameters": raw([]any{map[string]any{"name": "apiKey", "type": "password", "label": "API key"}}),
			},
			Common: map[string]any{"clientId": fmt.Sprintf("id-%05d", i)},
		})
		sd.Make.Apps[f.App(i)] = app
	}
	for i := range f.Patchworks {
		sd.Patchworks.Connectors = append(sd.Patchworks.Connectors, map[string]any{
			"name": ConnectorName(i), "authentication_implementation_id": "42",
			"timezone": "Europe/London", "date_format": "d/m/Y H:i",
			"rate_limit_unit": "minute", "rate_limit_duration": 60,
			"variables": []any{map[string]any{"key": "shop_domain", "value": fmt.Sprintf("shop-%05d.example.com", i), "label": "Shop domain", "secret": false}},
		})
	}
	return sd
}

// MinRequests is the fewest requests a read of the whole fleet can take:
// Make one list per app plus three reads (two sections and common) per
// connection; Patchworks one page of 100 per 100 connectors.
func (f Fleet) MinRequests() (makeN, patchworksN int) {
	apps := min(f.Apps, f.Make)
	return apps + 3*f.Make, (f.Patchworks + 99) / 100
}
