package desired

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// quickCases are texts at the edges of the subset: each is either read
// exactly as the library reads it, or declined.
var quickCases = []string{
	"a: b\n",
	"a: b",
	"---\na: b\n",
	"--- \na: b\n",
	"---\na: b\n---\nc: d\n",
	"a: b\n...\n",
	"%YAML 1.2\n---\na: b\n",
	"# head\na: b # line\n# foot\n",
	"a:\n  b: c\n  d:\n    - e\n    - f: g\n      h: 1\n",
	"a:\n- b\n- c\n",
	"- a\n- b\n",
	"- a: b\n  c: d\n- e: f\n",
	"-   a: b\n    c: d\n",
	"- - a\n",
	"-\n  a: b\n",
	"a: b\n  c: d\n",
	"a: b\nc\n",
	"a:\n",
	"a:\nb: c\n",
	"a: b\na: c\n",
	"a: 'it''s'\n",
	"a: 'it''s' # c\n",
	"a: 'x'y\n",
	"a: \"x\"y\n",
	"a: \"x\" #c\n",
	"a: \"x\"#c\n",
	"a: \"x\\ny\"\n",
	"a: \"x\n  y\"\n",
	"a: 'x\n  y'\n",
	"a: b c\n",
	"a: b  \n",
	"a: b#c\n",
	"a: b #c\n",
	"a: b: c\n",
	"a: b:\n",
	"a: b:c\n",
	"a: https://example.com/x?y=1#z\n",
	"a: d/m/Y H:i\n",
	"a: [b, c]\n",
	"a: {b: c}\n",
	"a: b[c]\n",
	"a: b{c}\n",
	"a: b, c\n",
	"a: |\n  x\n",
	"a: >\n  x\n",
	"a: &x b\nc: *x\n",
	"a: !!str 1\n",
	"a: 1\nb: 0\nc: 01\nd: -1\ne: 1.5\nf: 1e3\ng: 0x1F\nh: 0o17\ni: 1_000\nj: 123456789012345678\nk: 1234567890123456789\n",
	"a: true\nb: false\nc: null\nd: True\ne: TRUE\nf: yes\ng: no\nh: on\ni: off\nj: y\nk: n\nl: ~\nm: Null\n",
	"a: .inf\nb: .nan\nc: -.inf\n",
	"a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\n",
	"a: <<\n",
	"<<: {a: b}\n",
	"true: a\n1: b\nnull: c\n",
	"a: $file\n$file: x.json\n",
	"a: _b\n_c: /d\n",
	"a: -b\nb: -\nc: ?x\nd: ? x\n",
	"a: @x\n",
	"a: `x\n",
	"? a\n: b\n",
	"a:    b\n",
	"a:\n\n  b: c\n\n  d: e\n",
	"a:\n  b: c\n d: e\n",
	"a:\n    b: c\n  d: e\n",
	"a:\n  - b\n  - c\nd: e\n",
	"a:\n- b\n  - c\n",
	"a: b\n\tc: d\n",
	"a: b\r\nc: d\r\n",
	"\xef\xbb\xbfa: b\n",
	"a: caf\xc3\xa9\n",
	"a: b\x00\n",
	"a: 'b' 'c'\n",
	"'a': b\n",
	"\"a\": b\n",
	"a : b\n",
	"a:b\n",
	"a: b\n#c\n  # d\ne: f\n",
	"a: #c\n  b: c\n",
	"- a\n-\n",
	"- a # c\n- 'b'\n- \"c\"\n- 1\n- true\n",
	"a:\n  - b: c\n    d:\n      - e\n",
	"",
	"# only a comment\n",
	"\n\n",
	"---\n",
	"a",
	"a:",
	"- ",
}

func TestQuickParseIsTheLibrary(t *testing.T) {
	accepted := 0
	for i, c := range quickCases {
		if checkQuick(t, fmt.Sprintf("case %d", i), []byte(c)) {
			accepted++
		}
	}
	if accepted < 20 {
		t.Errorf("quickParse read only %d of %d cases: the subset is narrower than manifests need", accepted, len(quickCases))
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
	for _, c := range append(quickCases, plainManifests...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		checkQuick(t, "fuzz", data)
	})
}
