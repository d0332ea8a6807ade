// Package deploy holds the ways to run syncd (systemd, Kubernetes, GitHub
// Actions; the Dockerfile and compose.yaml are at the repository's root).
// Its tests check the files parse and keep their promises, since Docker,
// systemd and a cluster are not available where the tests run.
package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// docs parses every YAML document in path.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return out
}

// at walks maps and lists: at(v, "spec", "template", 0, "name").
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %T is not a map", path, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: no item %d in %T", path, k, v)
			}
			v = l[k]
		}
	}
	return v
}

func TestEveryYAMLFileParses(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*/*.yaml", "*/*.yml", "../compose.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 7 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		docs(t, f)
	}
}

func TestKubernetes(t *testing.T) {
	var dep map[string]any
	for _, d := range docs(t, "kubernetes/deployment.yaml") {
		if d["kind"] == "Deployment" {
			dep = d
		}
	}
	if dep == nil {
		t.Fatal("no Deployment in kubernetes/deployment.yaml")
	}
	if r := at(t, dep, "spec", "replicas"); r != 2 {
		t.Errorf("replicas %v, want 2 (the leader lock picks the one that applies)", r)
	}
	containers := at(t, dep, "spec", "template", "spec", "containers").([]any)
	byName := map[string]any{}
	for _, c := range containers {
		byName[at(t, c, "name").(string)] = c
	}
	syncdC, ok := byName["syncd"]
	if !ok {
		t.Fatal("no syncd container")
	}
	gitSync, ok := byName["git-sync"]
	if !ok || !strings.Contains(at(t, gitSync, "image").(string), "git-sync") {
		t.Error("no git-sync sidecar")
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got := at(t, syncdC, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %v, want %s", probe, got, path)
		}
	}
	args := strings.Join(toStrings(at(t, syncdC, "args")), " ")
	for _, want := range []string{"run", "--mode=apply", "--manifests=/git/"} {
		if !strings.Contains(args, want) {
			t.Errorf("syncd args %q lack %q", args, want)
		}
	}
	// Every token and the database URL come from a Secret, never a literal.
	fromSecret := map[string]bool{}
	for _, e := range at(t, syncdC, "env").([]any) {
		name := at(t, e, "name").(string)
		if _, literal := e.(map[string]any)["value"]; literal && regexp.MustCompile(`TOKEN|KEY|PASSWORD|DATABASE_URL|SECRET`).MatchString(name) {
			t.Errorf("env %s has a literal value", name)
		}
		if vf, ok := e.(map[string]any)["valueFrom"].(map[string]any); ok && vf["secretKeyRef"] != nil {
			fromSecret[name] = true
		}
	}
	for _, name := range []string{"SYNCD_DATABASE_URL", "SYNCD_MAKE_TOKEN", "SYNCD_PATCHWORKS_TOKEN", "SYNCD_HMAC_KEY", "SYNCD_HTTP_TOKEN"} {
		if !fromSecret[name] {
			t.Errorf("env %s is not from a Secret", name)
		}
	}
	if at(t, syncdC, "securityContext", "readOnlyRootFilesystem") != true || at(t, dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("syncd does not run non-root with a read-only root filesystem")
	}
	// kustomization lists files that exist, and not the example Secret.
	for _, r := range toStrings(at(t, docs(t, "kubernetes/kustomization.yaml")[0], "resources")) {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("kustomization: %v", err)
		}
		if strings.Contains(r, "secret") {
			t.Errorf("kustomization applies %s", r)
		}
	}
}

func TestCompose(t *testing.T) {
	c := docs(t, "../compose.yaml")[0]
	services := at(t, c, "services").(map[string]any)
	for _, name := range []string{"postgres", "emulator", "syncd"} {
		if services[name] == nil {
			t.Errorf("compose.yaml: no %s service", name)
		}
	}
	cmd := strings.Join(toStrings(at(t, services["syncd"], "command")), " ")
	if !strings.HasPrefix(cmd, "run ") || !strings.Contains(cmd, "0.0.0.0:8080") {
		t.Errorf("syncd command %q: want run listening on 0.0.0.0:8080", cmd)
	}
	if at(t, services["syncd"], "environment", "SYNCD_HTTP_TOKEN") == nil {
		t.Errorf("syncd listens beyond loopback without SYNCD_HTTP_TOKEN: it would refuse to start")
	}
	if ports := toStrings(at(t, services["syncd"], "ports")); !slices.Contains(ports, "127.0.0.1:8080:8080") {
		t.Errorf("syncd ports %v: want the console on 127.0.0.1:8080 only", ports)
	}
	if got := at(t, services["emulator"], "command", 0); got != "emulator" {
		t.Errorf("emulator command starts with %v", got)
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		}
	}
	if len(froms) < 2 {
		t.Errorf("Dockerfile has %d stages, want a multi-stage build", len(froms))
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("final stage %s: want distroless/static or scratch", final)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if !strings.Contains(string(data), "CGO_ENABLED=0") {
		t.Error("the binary is not built static (CGO_ENABLED=0)")
	}
}

// The systemd unit has the hardening it promises.
func TestSystemdUnit(t *testing.T) {
	f, err := os.Open("systemd/syncd.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("syncd.service:%d: %q is not KEY=VALUE", n, line)
			}
			keys[section+k] = append(keys[section+k], v)
		}
	}
	want := map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
		"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
		"RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
		"MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native", "StateDirectory": "syncd",
	}
	for k, v := range want {
		if got := keys["[Service]"+k]; !slices.Contains(got, v) {
			t.Errorf("[Service] %s=%v, want %q", k, got, v)
		}
	}
	if got := keys["[Service]SystemCallFilter"]; !slices.Contains(got, "@system-service") {
		t.Errorf("SystemCallFilter %v lacks @system-service", got)
	}
	if got := strings.Join(keys["[Service]ExecStart"], ""); !strings.Contains(got, "syncd run") || !strings.Contains(got, "--listen 127.0.0.1:") {
		t.Errorf("ExecStart %q: want syncd run on a loopback listener", got)
	}
	if got := strings.Join(keys["[Service]ExecReload"], ""); !strings.Contains(got, "-HUP") {
		t.Errorf("ExecReload %q: want SIGHUP", got)
	}
	if len(keys["[Install]WantedBy"]) == 0 {
		t.Error("no [Install] WantedBy")
	}
}

// The pull-request workflow plans in Markdown and keeps one comment, found
// by the plan's marker line.
func TestPlanWorkflow(t *testing.T) {
	w := docs(t, "github-actions/plan.yml")[0]
	if _, ok := at(t, w, "on").(map[string]any)["pull_request"]; !ok {
		t.Error("the workflow does not run on pull_request")
	}
	if got := at(t, w, "permissions", "pull-requests"); got != "write" {
		t.Errorf("permissions pull-requests %v, want write", got)
	}
	var run, script string
	for _, s := range at(t, w, "jobs", "plan", "steps").([]any) {
		m := s.(map[string]any)
		if r, ok := m["run"].(string); ok {
			run += r
		}
		if with, ok := m["with"].(map[string]any); ok {
			if sc, ok := with["script"].(string); ok {
				script += sc
			}
		}
	}
	for _, want := range []string{"syncd plan --format markdown --detailed-exitcode"} {
		if !strings.Contains(run, want) {
			t.Errorf("no step runs %q", want)
		}
	}
	for _, want := range []string{"'<!-- syncd:plan -->'", "updateComment", "createComment", "listComments"} {
		if !strings.Contains(script, want) {
			t.Errorf("the comment script lacks %q", want)
		}
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
