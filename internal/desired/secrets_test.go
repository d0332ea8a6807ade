package desired

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSecretsNeverInErrors breaks manifests in every way that touches a
// secret, resolved or literal, and checks that no message quotes one.
func TestSecretsNeverInErrors(t *testing.T) {
	canaries := map[string]string{
		"ENV_TYPE":  "CANARY-env-type",
		"ENV_LABEL": "CANARY-env-label",
		"ENV_UNIT":  "CANARY-env-unit",
		"ENV_NAME":  "CANARY-env-name",
		"ENV_MODE":  "CANARY-env-mode",
	}
	dir := writeTree(t, map[string]string{
		"secret.txt": "CANARY-file\n",
		"make.yaml": doc(
			"apiVersion: syncd/v1",
			"kind: MakeConnection",
			"metadata: {name: one}",
			"spec:",
			"  app: acme",
			"  type: ${env:ENV_TYPE}",
			"  label: ${env:ENV_LABEL}",
			"  common:",
			"    clientSecret: !vault CANARY-literal-tag",
			"    password: .nan",
			"    token: [CANARY-literal-list, !!binary Q0FOQVJZ]",
			"    apiKey: CANARY-literal-dup",
			"    apiKey: CANARY-literal-dup2",
			"---",
			"apiVersion: syncd/v1",
			"kind: MakeConnection",
			"metadata: {name: two}",
			"spec:",
			"  app: acme",
			"  type: ${file:secret.txt}",
			"  label: ${env:ENV_LABEL}",
			"---",
			"apiVersion: syncd/v1",
			"kind: MakeConnection",
			"metadata: {name: three}",
			"spec:",
			"  app: acme",
			"  type: oauth",
			"  label: ${env:ENV_LABEL}",
		),
		"pw.yaml": doc(
			"apiVersion: syncd/v1",
			"kind: PatchworksConnector",
			"metadata: {name: pw-one}",
			"spec:",
			"  name: ${env:ENV_NAME}",
			"  authentication_implementation_id: 1",
			"  timezone: UTC",
			"  date_format: Y",
			"  rate_limit_unit: ${env:ENV_UNIT}",
			"  rate_limit_duration: ${env:ENV_NAME}",
			"  connection_pool_id: ${env:ENV_NAME}",
			"  variables:",
			"    - {key: a, value: true, secret: true}",
			"    - {key: b, value: {nested: CANARY-literal-var}, secret: true}",
			"    - {key: c, value: [CANARY-literal-var2]}",
			"    - {key: d, value: !custom CANARY-literal-var3}",
			"    - {key: e, value: \"${env:UNSET_CANARY_NAME_IS_FINE}\", secret: true}",
			"---",
			"apiVersion: syncd/v1",
			"kind: PatchworksConnector",
			"metadata: {name: pw-two}",
			"policy: {mode: report}",
			"spec:",
			"  name: ${env:ENV_NAME}",
			"  authentication_implementation_id: 1",
			"  timezone: UTC",
			"  date_format: Y",
			"  rate_limit_unit: day",
			"  rate_limit_duration: 1",
		),
		"syntax.yaml": "spec:\n  common:\n    clientSecret: \"CANARY-literal-unterminated\n",
	})
	_, err := Load(dir, env(canaries))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	all := err.Error()
	for _, e := range es {
		all += "\n" + fmt.Sprintf("%#v", *e)
	}
	if strings.Contains(all, "CANARY-") || strings.Contains(all, "Q0FOQVJZ") {
		t.Errorf("a secret reached an error message:\n%s", all)
	}
	// Every broken thing was reported: 2 bad types + 2 duplicate natural
	// keys + 3 bad common values + 1 duplicate key + bad unit + 2 wrong
	// types + 4 bad variables + 1 unset variable + 1 syntax error.
	if len(es) < 17 {
		t.Errorf("only %d problems reported:\n%s", len(es), err)
	}
	t.Logf("%s", err)
}
