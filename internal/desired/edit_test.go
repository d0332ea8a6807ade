package desired

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/syncd"
)

const editDoc = `# head comment
apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: other
spec:
  app: a
  type: basic
  label: Other
---
# the one we edit
apiVersion: syncd/v1
kind: MakeConnection
metadata:
  name: crm
spec:
  app: a
  type: apikey
  label: 'It''s CRM'  # quoted
  connectedSystemName: null
  sections:
    scopes: {read: "Read", write: Write}
    parameters:
      - name: apiKey    # the key
        type: password
      - name: region
        type: text
    install:
      url: https://x.example/install
      method: POST
  common:
    clientId: id
    clientSecret: ${env:S}
    retries: 3
# trailing comment
`

// TestEditResource: each edit changes only the text of its value.
func TestEditResource(t *testing.T) {
	tests := []struct {
		name    string
		edits   []Edit
		live    map[string]any
		replace [][2]string // old, new substrings of editDoc
		wantErr string
	}{
		{name: "single-quoted scalar", edits: []Edit{{Pointer: "/label", Value: "CRM's"}},
			replace: [][2]string{{`label: 'It''s CRM'  # quoted`, `label: 'CRM''s'  # quoted`}}},
		{name: "null to string", edits: []Edit{{Pointer: "/connectedSystemName", Value: "sys"}},
			replace: [][2]string{{"connectedSystemName: null", "connectedSystemName: sys"}}},
		{name: "inside a flow mapping", edits: []Edit{{Pointer: "/sections/scopes/write", Value: "Write, all"}},
			replace: [][2]string{{`write: Write}`, `write: "Write, all"}`}}},
		{name: "number", edits: []Edit{{Pointer: "/common/retries", Value: 5.0}},
			replace: [][2]string{{"retries: 3", "retries: 5"}}},
		{name: "insert a key", edits: []Edit{{Pointer: "/common/region", Value: "eu"}},
			replace: [][2]string{{"    retries: 3\n", "    retries: 3\n    region: eu\n"}}},
		{name: "remove a key", edits: []Edit{{Pointer: "/sections/install/method", Remove: true}},
			replace: [][2]string{{"      method: POST\n", ""}}},
		{name: "a field of a list item", edits: []Edit{{Pointer: "/sections/parameters/0/type", Value: "text"}},
			replace: [][2]string{{"        type: password", "        type: text"}}},
		{name: "an item added to a list: the list is rewritten",
			edits: []Edit{{Pointer: "/sections/parameters/2", Value: map[string]any{"name": "x"}}},
			live: map[string]any{"sections": map[string]any{"parameters": []any{
				map[string]any{"name": "apiKey", "type": "password"}, map[string]any{"name": "region", "type": "text"}, map[string]any{"name": "x"}}}},
			replace: [][2]string{{"    parameters:\n      - name: apiKey    # the key\n        type: password\n      - name: region\n        type: text\n",
				"    parameters:\n      - name: apiKey\n        type: password\n      - name: region\n        type: text\n      - name: x\n"}}},
		{name: "a block value", edits: []Edit{{Pointer: "/sections/install", Value: map[string]any{"url": "https://y.example"}}},
			replace: [][2]string{{"      url: https://x.example/install\n      method: POST\n", "      url: https://y.example\n"}}},
		{name: "a secret reference stays", edits: []Edit{{Pointer: "/common/clientSecret", Value: "leak"}}, wantErr: "reference stays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "m.yaml")
			if err := os.WriteFile(path, []byte(editDoc), 0o644); err != nil {
				t.Fatal(err)
			}
			d := &syncd.Desired{Key: syncd.Key{Kind: syncd.MakeConnection, Name: "crm"}, Source: syncd.Source{File: filepath.ToSlash(path)}}
			got, err := EditResource(d, tt.live, tt.edits)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := editDoc
			for _, r := range tt.replace {
				if !strings.Contains(want, r[0]) {
					t.Fatalf("test bug: %q not in the document", r[0])
				}
				want = strings.Replace(want, r[0], r[1], 1)
			}
			if diff := cmp.Diff(want, string(got[path])); diff != "" {
				t.Errorf("edited file (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEditJSONCKeepsComments(t *testing.T) {
	in := "{\n  // why\n  \"url\": \"https://a\", /* inline */\n  \"n\": [1, 2],\n}\n"
	tests := []struct {
		toks []string
		e    Edit
		want string
	}{
		{[]string{"url"}, Edit{Value: "https://b"}, strings.Replace(in, "https://a", "https://b", 1)},
		{[]string{"n", "1"}, Edit{Value: 3.0}, strings.Replace(in, "[1, 2]", "[1, 3]", 1)},
		{[]string{"url"}, Edit{Remove: true}, ""},
	}
	for _, tt := range tests {
		got, err := editJSONC([]byte(in), tt.toks, tt.e)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.e.Remove && !strings.Contains(string(got), "// why") {
			t.Errorf("%v: the comment is gone:\n%s", tt.toks, got)
		}
		if tt.e.Remove {
			if strings.Contains(string(got), "https://a") {
				t.Errorf("remove kept the value:\n%s", got)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, string(got)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.toks, diff)
		}
	}
}
