package desired

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoadExamples loads manifests/ (4 resources, one $file).
func BenchmarkLoadExamples(b *testing.B) {
	opts := env(exampleEnv)
	for b.Loop() {
		if _, err := Load(manifestsDir, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad1000 loads 1000 Patchworks connectors with five variables
// each, spread over 100 files.
func BenchmarkLoad1000(b *testing.B) {
	files := map[string]string{}
	for f := 0; f < 100; f++ {
		var docs []string
		for i := 0; i < 10; i++ {
			n := f*10 + i
			lines := replace(replace(pwDoc, "  name: shop", fmt.Sprintf("  name: shop-%d", n)), "  name: Shop", fmt.Sprintf("  name: Shop %d", n))
			lines = append(lines, "  variables:")
			for v := 0; v < 5; v++ {
				lines = append(lines, fmt.Sprintf("    - {key: v%d, value: x%d, label: V, secret: false, pivot: {alias: a, required: true}}", v, v))
			}
			docs = append(docs, doc(lines...))
		}
		files[fmt.Sprintf("d%d/f%d.yaml", f%10, f)] = strings.Join(docs, "---\n")
	}
	dir := writeTree(b, files)
	b.ResetTimer()
	for b.Loop() {
		set, err := Load(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Resources) != 1000 {
			b.Fatalf("%d resources", len(set.Resources))
		}
	}
}
