package desired

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (slash paths relative to a fresh directory) and
// returns the directory.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// env is a fake environment for Options.Getenv.
func env(kv map[string]string) Options {
	return Options{Getenv: func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}}
}

// doc joins YAML lines; tests read better with one line per element.
func doc(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// Valid bodies that tests extend or break one line at a time.
var (
	makeDoc = []string{
		"apiVersion: syncd/v1",
		"kind: MakeConnection",
		"metadata:",
		"  name: crm",
		"spec:",
		"  app: acme-crm",
		"  type: oauth",
		"  label: ACME",
	}
	pwDoc = []string{
		"apiVersion: syncd/v1",
		"kind: PatchworksConnector",
		"metadata:",
		"  name: shop",
		"spec:",
		"  name: Shop",
		"  authentication_implementation_id: \"42\"",
		"  timezone: Europe/London",
		"  date_format: d/m/Y",
		"  rate_limit_unit: minute",
		"  rate_limit_duration: 60",
	}
)

// with returns base plus extra lines.
func with(base []string, extra ...string) string {
	return doc(append(append([]string(nil), base...), extra...)...)
}

// replace returns base with the line starting with prefix replaced (or
// dropped, when repl is empty).
func replace(base []string, prefix, repl string) []string {
	out := make([]string, 0, len(base))
	for _, l := range base {
		if strings.HasPrefix(l, prefix) {
			if repl != "" {
				out = append(out, repl)
			}
			continue
		}
		out = append(out, l)
	}
	return out
}
