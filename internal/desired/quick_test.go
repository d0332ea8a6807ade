package desired

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"
)

// libraryDocs is what the loader gets from go.yaml.in/yaml/v4 for data.
func libraryDocs(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, &doc)
	}
}

// sameNode compares everything the loader reads of a node: all but the
// comments.
func sameNode(a, b *yaml.Node, at string) error {
	if a == nil || b == nil {
		if a != b {
			return fmt.Errorf("%s: %v vs %v", at, a, b)
		}
		return nil
	}
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) || (a.Alias == nil) != (b.Alias == nil) {
		return fmt.Errorf("%s: quick {kind %v style %v tag %q value %q line %d col %d, %d children} vs library {kind %v style %v tag %q value %q line %d col %d, %d children}",
			at, a.Kind, a.Style, a.Tag, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.Style, b.Tag, b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if err := sameNode(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", at, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkQuick fails when quickParse accepts data and reads it otherwise
// than the library; it reports whether quickParse accepted it.
func checkQuick(t *testing.T, name string, data []byte) bool {
	t.Helper()
	got, ok := quickParse(data)
	// The loader reads file after file with one reader: one that read
	// another file before must read this one alike.
	var used quick
	if _, warm := used.parse([]byte(quickWarmup)); !warm {
		t.Fatal("the warm-up text takes the library's path")
	}
	again, againOK := used.parse(data)
	if againOK != ok {
		t.Errorf("%s: a fresh reader reads it: %v, one that read another file first: %v\n%s", name, ok, againOK, data)
	} else if ok {
		if err := sameNode(again, got, "doc"); err != nil {
			t.Errorf("%s: a reader that read another file first: %v\n%s", name, err, data)
		}
	}
	if !ok {
		return false
	}
	docs, err := libraryDocs(data)
	if err != nil {
		t.Errorf("%s: quickParse read it, the library refuses it: %v\n%s", name, err, data)
		return true
	}
	if len(docs) != 1 {
		t.Errorf("%s: quickParse read one document, the library %d\n%s", name, len(docs), data)
		return true
	}
	if err := sameNode(got, docs[0], "doc"); err != nil {
		t.Errorf("%s: %v\n%s", name, err, data)
	}
	return true
}

// quickWarmup fills a reader's buffers with nodes before the text under test.
var quickWarmup = "---\nw:\n  - x: 1\n    u: two\n  - z\nk: \"v\"\nl:\n- 'q'\n- m: o\np:\n  r:\n    s: t\n"

// quickCases are texts at the edges of the subset, each with whether
// quickParse reads it: what it reads must be what the library reads, and
// what it declines, the library reads instead.
var quickCases = []struct {
	text  string
	quick bool
}{
	{"a: b\n", true},
	{"a: b", true},
	{"---\na: b\n", true},
	{"--- \na: b\n", false},
	{"---\na: b\n---\nc: d\n", false},
	{"a: b\n...\n", false},
	{"%YAML 1.2\n---\na: b\n", false},
	{"# head\na: b # line\n# foot\n", true},
	{"a:\n  b: c\n  d:\n    - e\n    - f: g\n      h: 1\n", true},
	{"a:\n- b\n- c\n", true},
	{"- a\n- b\n", true},
	{"- a: b\n  c: d\n- e: f\n", true},
	{"-   a: b\n    c: d\n", true},
	{"- - a\n", false},
	{"-\n  a: b\n", false},
	{"a: b\n  c: d\n", false},
	{"a: b\nc\n", false},
	{"a:\n", false},
	{"a:\nb: c\n", false},
	{"a: b\na: c\n", false},
	{"a: 'it''s'\n", true},
	{"a: 'it''s' # c\n", true},
	{"a: 'x'y\n", false},
	{"a: \"x\"y\n", false},
	{"a: \"x\" #c\n", true},
	{"a: \"x\"#c\n", false},
	{"a: \"x\\ny\"\n", false},
	{"a: \"x\n  y\"\n", false},
	{"a: 'x\n  y'\n", false},
	{"a: b c\n", true},
	{"a: b  \n", true},
	{"a: b#c\n", true},
	{"a: b #c\n", true},
	{"a: b: c\n", false},
	{"a: b:\n", false},
	{"a: b:c\n", true},
	{"a: https://example.com/x?y=1#z\n", true},
	{"a: d/m/Y H:i\n", true},
	{"a: [b, c]\n", false},
	{"a: {b: c}\n", false},
	{"a: b[c]\n", true},
	{"a: b{c}\n", true},
	{"a: b, c\n", true},
	{"a: |\n  x\n", false},
	{"a: >\n  x\n", false},
	{"a: &x b\nc: *x\n", false},
	{"a: !!str 1\n", false},
	{"a: <<\n", false},
	{"<<: {a: b}\n", false},
	{"true: a\n1: b\nnull: c\n", true},
	{"a: $file\n$file: x.json\n", true},
	{"a: _b\n_c: /d\n", true},
	{"a: @x\n", false},
	{"a: `x\n", false},
	{"? a\n: b\n", false},
	{"a:    b\n", true},
	{"a:\n\n  b: c\n\n  d: e\n", true},
	{"a:\n  b: c\n d: e\n", false},
	{"a:\n    b: c\n  d: e\n", false},
	{"a:\n  - b\n  - c\nd: e\n", true},
	{"a:\n- b\n  - c\n", false},
	{"a: b\n\tc: d\n", false},
	{"a: b\r\nc: d\r\n", false},
	{"\ufeffa: b\n", false},
	{"a: café\n", false},
	{"a: b\x00\n", false},
	{"a: b\x7f\n", false},
	{"a: b~\n", true},
	{"a: 'b' 'c'\n", false},
	{"'a': b\n", false},
	{"\"a\": b\n", false},
	{"a : b\n", false},
	{"a #b: c\n", false},
	{"a: 9\n", true},
	{"z: Z\n", true},
	{"A: b\n", true},
	{"a: \"\"\n", true},
	{"a: \"\\t\"\n", false},
	{"a: '\\t'\n", true},
	{"a: ''\n", true},
	{"a#b: c\n", true},
	{"a\"b: c\n", true},
	{"a'b: c\n", true},
	{"a: b\nc \n", false},
	{"- a \n", true},
	{":\n", false},
	{": a\n", false},
	{"- : a\n", false},
	{strings.Repeat("k", 1024) + ": v\n", true},
	{strings.Repeat("k", 1025) + ": v\n", false},
	{"a:b\n", false},
	{"a: b\n#c\n  # d\ne: f\n", true},
	{"a: #c\n  b: c\n", true},
	{"- a\n-\n", false},
	{"- a # c\n- 'b'\n- \"c\"\n- 1\n- true\n", true},
	{"a:\n  - b: c\n    d:\n      - e\n", true},
	{"", false},
	{"# only a comment\n", false},
	{"\n\n", false},
	{"---\n", false},
	{"a", false},
	{"a:", false},
	{"- ", false},
	{"a: 1\n", true},
	{"a: 0\n", true},
	{"a: 01\n", false},
	{"a: -1\n", false},
	{"a: 1.5\n", false},
	{"a: 1e3\n", false},
	{"a: 0x1F\n", false},
	{"a: 0o17\n", false},
	{"a: 1_000\n", false},
	{"a: 123456789012345678\n", true},
	{"a: 1234567890123456789\n", false},
	{"a: +1\n", false},
	{"a: true\n", true},
	{"a: false\n", true},
	{"a: null\n", true},
	{"a: True\n", false},
	{"a: TRUE\n", false},
	{"a: False\n", false},
	{"a: yes\n", false},
	{"a: no\n", false},
	{"a: on\n", false},
	{"a: off\n", false},
	{"a: y\n", false},
	{"a: n\n", false},
	{"a: Y\n", false},
	{"a: ~\n", false},
	{"a: Null\n", false},
	{"a: NULL\n", false},
	{"a: nan\n", false},
	{"a: NaN\n", false},
	{"a: inf\n", false},
	{"a: .inf\n", false},
	{"a: .nan\n", false},
	{"a: -.inf\n", false},
	{"a: 2001-12-14\n", false},
	{"a: 2001-12-14t21:59:43.10-05:00\n", false},
	{"a: -b\n", false},
	{"a: -\n", false},
	{"a: ?x\n", false},
	{"a: ? x\n", false},
	{"a: =\n", false},
	{"a: x=y\n", true},
}

func TestQuickParseIsTheLibrary(t *testing.T) {
	accepted := 0
	for _, c := range quickCases {
		if checkQuick(t, fmt.Sprintf("%q", c.text), []byte(c.text)) != c.quick {
			t.Errorf("%q: quickParse read it: %v, want %v", c.text, !c.quick, c.quick)
		}
		if c.quick {
			accepted++
		}
	}
	// Every YAML file of this repository: examples, test data, demo.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, read := 0, 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		if checkQuick(t, p, data) {
			read++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quickParse read %d of %d cases and %d of %d repository files; the library read the rest", accepted, len(quickCases), read, files)
}

// TestQuickParseReadsTheManifests: the manifests users write (and the
// benchmark's) take the quick path.
func TestQuickParseReadsTheManifests(t *testing.T) {
	for _, c := range plainManifests {
		if !checkQuick(t, "manifest", []byte(c)) {
			t.Errorf("quickParse declined a plain manifest:\n%s", c)
		}
	}
}

// plainManifests are written as most manifests are (and as the
// benchmark's are).
var plainManifests = []string{
	`apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: mk-00001
spec:
  app: app-001
  type: apikey
  label: "Connection 00001"
  sections:
    api:
      url: https://api.example.com/v1/00001
      headers:
        x-api-key: "{{connection.apiKey}}"
    parameters:
      - name: apiKey
        type: password
        label: API key
  common:
    clientId: id-00001
`,
	`apiVersion: syncd/v1
kind: PatchworksConnector
metadata:
  name: pw-00001
spec:
  name: "Connector 00001"
  authentication_implementation_id: "42"
  timezone: Europe/London
  date_format: d/m/Y H:i
  rate_limit_unit: minute
  rate_limit_duration: 60
  variables:
    - key: shop_domain
      value: shop-00001.example.com
      label: Shop domain
      secret: false
`,
}

func FuzzQuickParse(f *testing.F) {
	for _, c := range quickCases {
		f.Add([]byte(c.text))
	}
	for _, c := range plainManifests {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		checkQuick(t, "fuzz", data)
	})
}

// TestQuickParseBoundsItsDepth: nesting past maxDepth is the library's to
// read (and the loader's to refuse), never the quick path's recursion.
func TestQuickParseBoundsItsDepth(t *testing.T) {
	nested := func(levels int) []byte {
		var b strings.Builder
		for i := range levels - 1 {
			b.WriteString(strings.Repeat(" ", i) + "k:\n")
		}
		b.WriteString(strings.Repeat(" ", levels-1) + "k: v\n")
		return []byte(b.String())
	}
	if !checkQuick(t, "maxDepth levels", nested(maxDepth)) {
		t.Errorf("quickParse declined %d nested mappings; it reads up to maxDepth", maxDepth)
	}
	if _, ok := quickParse(nested(maxDepth + 1)); ok {
		t.Errorf("quickParse read %d nested mappings, past maxDepth", maxDepth+1)
	}
	if _, ok := quickParse(nested(1000)); ok {
		t.Error("quickParse read 1,000 nested mappings")
	}
}

// TestQuickParseCountsDepthNotBlocks: a long manifest of shallow blocks is
// read however many blocks it has.
func TestQuickParseCountsDepthNotBlocks(t *testing.T) {
	var b strings.Builder
	for i := range 3 * maxDepth {
		fmt.Fprintf(&b, "k%d:\n  a: b\n  c:\n    - d\n", i)
	}
	if !checkQuick(t, "shallow blocks", []byte(b.String())) {
		t.Errorf("quickParse declined %d shallow blocks", 3*maxDepth)
	}
}

// TestQuickParseOfBlankLinesIsCheap: a manifest of a mebibyte of blank
// lines (within the size limit) costs the quick path a few kilobytes, not
// a slot per line.
func TestQuickParseOfBlankLinesIsCheap(t *testing.T) {
	data := []byte(strings.Repeat("\n", DefaultMaxManifestBytes-len("a: b\n")) + "a: b\n")
	if !checkQuick(t, "blank lines", data) {
		t.Fatal("quickParse declined a manifest of blank lines and one key")
	}
	// Bytes allocated, which do not depend on the collector or the clock.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	quickParse(data)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 2*DefaultMaxManifestBytes {
		t.Errorf("quickParse allocated %d bytes for one key after %d blank lines", n, len(data))
	}
}

// TestLoaderReusesQuickSafely: the loader reads every plain file with the
// same buffers, so each file's nodes overwrite the last one's. Whatever it
// keeps of a file (specs, sources, positions for the checks across files)
// must come out as if that file had been read alone.
func TestLoaderReusesQuickSafely(t *testing.T) {
	long := []string{"  sections:", "    api:", "      url: https://example.com/one", "      headers:"}
	for i := range 40 {
		long = append(long, fmt.Sprintf("        h%02d: v%02d", i, i))
	}
	files := map[string]string{
		"a.yaml": with(replace(makeDoc, "  name: crm", "  name: dup"), long...),
		"b.yaml": doc(pwDoc...),
		"c.yaml": "# a\n# b\n" + doc(replace(replace(makeDoc, "  name: crm", "  name: dup"), "  label", "  label: Other")...),
		"d.yaml": with(replace(pwDoc, "  name: shop", "  name: bad"), "  connection_pool_id: x"),
		"e.yaml": doc(replace(replace(makeDoc, "  name: crm", "  name: small"), "  label", "  label: Small")...),
	}
	for name, text := range files {
		if _, ok := quickParse([]byte(text)); !ok {
			t.Fatalf("%s takes the library's path; this test is about the quick one:\n%s", name, text)
		}
	}
	dir := writeTree(t, files)
	set, err := Load(dir, Options{})
	checkErrors(t, dir, err, []wantErr{
		{File: "c.yaml", Line: 6, Col: 9, Field: "metadata.name", Msg: "first defined at " + filepath.Join(dir, "a.yaml") + ":4"},
		{File: "d.yaml", Line: 6, Col: 9, Field: "spec.name", Msg: "also used by shop at " + filepath.Join(dir, "b.yaml") + ":6"},
		{File: "d.yaml", Line: 12, Col: 23, Field: "spec.connection_pool_id", Msg: "must be an integer or null"},
	})
	for name := range files {
		if name == "c.yaml" || name == "d.yaml" {
			continue
		}
		alone := writeTree(t, map[string]string{name: files[name]})
		one, err := Load(alone, Options{})
		if err != nil {
			t.Fatalf("%s alone: %v", name, err)
		}
		d := one.Resources[0]
		got := set.Get(d.Key)
		if got == nil {
			t.Fatalf("%s: %s is missing from the whole load", name, d.Key)
		}
		if diff := cmp.Diff(d.Spec, got.Spec); diff != "" {
			t.Errorf("%s: spec read with the others differs from read alone (-alone +together):\n%s", name, diff)
		}
		if d.Source.Line != got.Source.Line || filepath.Base(got.Source.File) != name {
			t.Errorf("%s: source %v, read alone %v", name, got.Source, d.Source)
		}
	}
}

// TestQuickReaderLetsAHugeFileGo: the loader's reader keeps its buffers
// for the next file, but not those of a file far larger than a manifest.
func TestQuickReaderLetsAHugeFileGo(t *testing.T) {
	var q quick
	huge := strings.Repeat("- a: b\n", 3*maxKeptNodes)
	if _, ok := q.parse([]byte(huge)); !ok {
		t.Fatal("the huge list takes the library's path")
	}
	if _, ok := q.parse([]byte(plainManifests[0])); !ok {
		t.Fatal("a plain manifest takes the library's path")
	}
	if cap(q.slab) > maxKeptNodes || cap(q.ptrs) > maxKeptNodes {
		t.Errorf("after a huge file and a manifest the reader keeps %d nodes and %d pointers; at most %d", cap(q.slab), cap(q.ptrs), maxKeptNodes)
	}
	if _, ok := q.parse([]byte(plainManifests[0])); !ok {
		t.Fatal("a plain manifest takes the library's path")
	}
	kept := cap(q.slab)
	if _, ok := q.parse([]byte(plainManifests[0])); !ok || cap(q.slab) != kept {
		t.Errorf("a second manifest of the same size grew the slab from %d to %d nodes", kept, cap(q.slab))
	}
}
