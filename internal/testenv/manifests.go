package testenv

import "fmt"

// MakeDoc is a MakeConnection manifest with two sections and common data
// whose clientSecret is SECRET_A.
func MakeDoc(name, app, label, typ string) string {
	return fmt.Sprintf(`apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: %s
spec:
  app: %s
  type: %s
  label: %q
  sections:
    api:
      url: https://api.example.com/%s
      headers:
        authorization: "Bearer {{connection.apiKey}}"
    parameters:
      - name: apiKey
        type: password
        label: API key
  common:
    clientId: id-%s
    clientSecret: ${env:SECRET_A}
`, name, app, typ, label, name, name)
}

// PatchworksDoc is a PatchworksConnector manifest with a plain variable and
// a secret one whose value is SECRET_B.
func PatchworksDoc(name, connName string) string {
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
      value: %s.example.com
      label: Shop domain
      secret: false
    - key: api_token
      value: ${env:SECRET_B}
      label: API token
      secret: true
`, name, connName, name)
}
