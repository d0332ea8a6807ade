package desired

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file reproduce the attacks of issue 12 (sections 1 and
// 2): a manifest directory written by whoever opens a pull request must not
// read outside itself, hang, crash or exhaust memory. `make reliability`
// runs them by name (-run Security); `make test` runs them with the rest.

// outsideContent is what every file outside the manifests directory holds:
// no error may ever show it.
const outsideContent = "OUTSIDE-CONTENT-must-never-show"

// securityTree writes files into a fresh manifests directory and outside
// files into a sibling directory, then creates links (path in the
// manifests directory -> target; a target starting with "@" is relative to
// the outside directory). It returns both directories.
func securityTree(t *testing.T, files map[string]string, links map[string]string) (dir, outside string) {
	t.Helper()
	base := t.TempDir()
	dir, outside = filepath.Join(base, "manifests"), filepath.Join(base, "outside")
	for _, d := range []string{dir, filepath.Join(outside, "sub")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	for _, name := range []string{"docker.json", "shadow", "sub/m.yaml"} {
		must(t, os.WriteFile(filepath.Join(outside, name), []byte(outsideContent+"\n"), 0o600))
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	for name, target := range links {
		if rest, ok := strings.CutPrefix(target, "@"); ok {
			target = filepath.Join(outside, rest)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.Symlink(target, p))
	}
	return dir, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// loadWithin runs Load and fails the test, instead of hanging it, when the
// load does not return: a fifo used to block it forever.
func loadWithin(t *testing.T, dir string, opts Options) (*Set, error) {
	t.Helper()
	type result struct {
		set *Set
		err error
	}
	done := make(chan result, 1)
	go func() {
		set, err := Load(dir, opts)
		done <- result{set, err}
	}()
	select {
	case r := <-done:
		if r.set == nil {
			t.Fatal("Load returned a nil Set")
		}
		return r.set, r.err
	case <-time.After(60 * time.Second):
		t.Fatal("Load did not return within 60 s (blocked on a file?)")
		return nil, nil
	}
}

// noContent fails when any error shows what outside files hold.
func noContent(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "OUTSIDE") {
		t.Fatalf("an error shows outside content: %v", err)
	}
}

func apiFile(path string) string {
	return with(makeDoc, "  sections: {api: {$file: '"+path+"'}}")
}

func TestSecurityIncludeOutsideDirectory(t *testing.T) {
	tests := []struct {
		name  string
		path  string // the $file value; @ is the outside directory
		links map[string]string
		want  wantErr
		extra []wantErr // problems the walk finds besides
	}{
		{"parent directory", "../outside/docker.json", nil,
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is outside the manifests directory"}, nil},
		{"cleaned to the parent", "sub/../../outside/docker.json", nil,
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is outside the manifests directory"}, nil},
		{"proc environ", "/proc/self/environ", nil,
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is outside the manifests directory"}, nil},
		{"absolute path outside", "@docker.json", nil,
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is outside the manifests directory"}, nil},
		{"hidden file (.git/config holds CI credentials)", ".git/config", nil,
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is a hidden path"}, nil},
		{"symlinked file", "api.json", map[string]string{"api.json": "@docker.json"},
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "leads outside its directory through a symbolic link"}, nil},
		{"file below a symlinked directory", "shared/docker.json", map[string]string{"shared": "@"},
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "leads outside its directory through a symbolic link"},
			[]wantErr{{File: "shared", Msg: "is a symbolic link leading outside the manifests directory"}}},
		{"relative symlink", "api.json", map[string]string{"api.json": "../outside/docker.json"},
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "leads outside its directory through a symbolic link"}, nil},
		{"symlink to /dev/zero", "api.json", map[string]string{"api.json": "/dev/zero"},
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "leads outside its directory through a symbolic link"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := securityTree(t, nil, tt.links)
			path := tt.path
			if rest, ok := strings.CutPrefix(path, "@"); ok {
				path = filepath.Join(outside, rest)
			}
			must(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(apiFile(path)), 0o644))
			set, err := loadWithin(t, dir, Options{})
			noContent(t, err)
			checkErrors(t, dir, err, append([]wantErr{tt.want}, tt.extra...))
			if len(set.Resources) != 0 {
				t.Errorf("the resource loaded anyway: %v", set.Resources)
			}
		})
	}
}

// TestSecurityIncludeInsideStillWorks: the containment refuses nothing a
// normal checkout does, including a symlink that stays inside.
func TestSecurityIncludeInsideStillWorks(t *testing.T) {
	dir, _ := securityTree(t, map[string]string{
		"apps/crm/m.yaml":   apiFile("../shared/api.jsonc"),
		"apps/shared/x.txt": "",
		"shared/api.jsonc":  `{"url": "https://example.com", /* c */}`,
		"b.yaml":            with(replace(replace(makeDoc, "  name: crm", "  name: crm2"), "  label", "  label: B"), "  sections: {api: {$file: linked.jsonc}}"),
	}, map[string]string{"linked.jsonc": "shared/api.jsonc"})
	must(t, os.Rename(filepath.Join(dir, "apps/shared"), filepath.Join(dir, "apps/sharedx")))
	must(t, os.Symlink("../shared", filepath.Join(dir, "apps/shared")))
	set, err := loadWithin(t, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Resources) != 2 {
		t.Fatalf("loaded %d resources, want 2", len(set.Resources))
	}
}

func TestSecurityManifestSymlinks(t *testing.T) {
	tests := []struct {
		name  string
		links map[string]string
		want  []wantErr
	}{
		{"manifest linked to a file outside", map[string]string{"shadow.yaml": "@shadow"},
			[]wantErr{{File: "shadow.yaml", Msg: "is a symbolic link leading outside the manifests directory; not read"}}},
		{"manifest linked by a relative path", map[string]string{"sub/shadow.yaml": "../../outside/shadow"},
			[]wantErr{{File: "sub/shadow.yaml", Msg: "symbolic link leading outside"}}},
		{"directory linked from outside", map[string]string{"team": "@sub"},
			[]wantErr{{File: "team", Msg: "symbolic link leading outside"}}},
		{"manifest linked to /etc/passwd", map[string]string{"passwd.yaml": "/etc/passwd"},
			[]wantErr{{File: "passwd.yaml", Msg: "symbolic link leading outside"}}},
		{"dangling link", map[string]string{"gone.yaml": "nowhere.yaml"},
			[]wantErr{{File: "gone.yaml", Msg: "cannot read"}}},
		{"other names are ignored", map[string]string{"notes.txt": "@shadow"}, nil},
		{"links inside are followed", map[string]string{"alias.yaml": "real/m.yml", "again": "real"}, nil},
		// Read through the area's root, not only the subdirectory's.
		{"links from a subdirectory to another are followed", map[string]string{"sub/alias.yaml": "../real/m.yml"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := securityTree(t, map[string]string{"real/m.yml": with(makeDoc)}, tt.links)
			set, err := loadWithin(t, dir, Options{})
			noContent(t, err)
			if tt.want == nil {
				// alias.yaml is the same manifest again: a duplicate name,
				// which proves it was read through the link.
				if _, ok := tt.links["alias.yaml"]; ok || tt.links["sub/alias.yaml"] != "" {
					if err == nil || !strings.Contains(err.Error(), "duplicate MakeConnection name") {
						t.Fatalf("err = %v, want the linked manifest read (a duplicate)", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(set.Resources) != 1 {
					t.Fatalf("loaded %d resources", len(set.Resources))
				}
				return
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
}

// TestSecurityNonRegularFiles: fifos (which used to hang validate) and
// other special files are refused without being opened.
func TestSecurityNonRegularFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		opts  Options
		want  wantErr
	}{
		{"fifo manifest", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644))
		}, Options{}, wantErr{File: "pipe.yaml", Msg: "is a named pipe (fifo), not a regular file; not opened"}},
		{"symlink to a fifo inside", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "p"), 0o644))
			must(t, os.Symlink("p", filepath.Join(dir, "pipe.yaml")))
		}, Options{}, wantErr{File: "pipe.yaml", Msg: "is a named pipe"}},
		{"fifo $file", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "api.json"), 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(apiFile("api.json")), 0o644))
		}, Options{}, wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is a named pipe"}},
		{"fifo secret", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "tok"), 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(with(makeDoc, "  common: {token: '${file:tok}'}")), 0o644))
		}, Options{}, wantErr{File: "m.yaml", Line: 9, Col: 19, Field: "spec.common.token", Msg: "cannot read secret file tok: is a named pipe"}},
		{"/dev/zero secret from an allowed directory", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(with(makeDoc, "  common: {token: '${file:/dev/zero}'}")), 0o644))
		}, Options{SecretDirs: []string{"/dev"}}, wantErr{File: "m.yaml", Line: 9, Col: 19, Field: "spec.common.token", Msg: "is a character device, not a regular file"}},
		{"/dev/zero secret", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(with(makeDoc, "  common: {token: '${file:/dev/zero}'}")), 0o644))
		}, Options{}, wantErr{File: "m.yaml", Line: 9, Col: 19, Field: "spec.common.token", Msg: "outside the directories secrets may be read from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := securityTree(t, nil, nil)
			tt.setup(t, dir)
			_, err := loadWithin(t, dir, tt.opts)
			checkErrors(t, dir, err, []wantErr{tt.want})
		})
	}
}

func TestSecuritySecretFiles(t *testing.T) {
	secrets := t.TempDir()
	must(t, os.WriteFile(filepath.Join(secrets, "tok"), []byte("mounted-secret\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(secrets, "big"), []byte(strings.Repeat("s", DefaultMaxSecretBytes+1)), 0o600))
	must(t, os.WriteFile(filepath.Join(secrets, "exact"), []byte(strings.Repeat("s", DefaultMaxSecretBytes)), 0o600))
	ref := func(p string) string { return with(makeDoc, "  common: {token: '${file:"+p+"}'}") }
	tests := []struct {
		name  string
		ref   string // @ is the outside directory, % the secret directory
		opts  Options
		links map[string]string
		want  string // "" loads; else a substring of the one error
	}{
		{"outside every allowed directory", "@shadow", Options{}, nil, "outside the directories secrets may be read from"},
		{"relative path out of the manifests directory", "../outside/shadow", Options{}, nil, "outside the directories secrets may be read from"},
		{"listed directory", "%tok", Options{SecretDirs: []string{"%"}}, nil, ""},
		{"listed directory, traversal out of it", "%../outside/shadow", Options{SecretDirs: []string{"%"}}, nil, "outside the directories"},
		{"inside the manifests directory", "local/tok", Options{}, nil, ""},
		{"symlink inside the manifests directory leading out", "tok", Options{}, map[string]string{"tok": "@shadow"}, "leads outside its directory through a symbolic link"},
		{"over 64 KiB", "%big", Options{SecretDirs: []string{"%"}}, nil, "is larger than 65536 bytes (the limit set by SYNCD_MAX_SECRET_BYTES)"},
		{"exactly 64 KiB", "%exact", Options{SecretDirs: []string{"%"}}, nil, ""},
		{"configured smaller", "%tok", Options{SecretDirs: []string{"%"}, Limits: Limits{SecretBytes: 4}}, nil, "is larger than 4 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := securityTree(t, map[string]string{"local/tok": "local-secret"}, tt.links)
			fix := func(s string) string {
				s = strings.ReplaceAll(s, "@", outside+"/")
				return strings.ReplaceAll(s, "%", secrets+"/")
			}
			for i, d := range tt.opts.SecretDirs {
				tt.opts.SecretDirs[i] = filepath.Clean(fix(d))
			}
			must(t, os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(ref(fix(tt.ref))), 0o644))
			set, err := loadWithin(t, dir, tt.opts)
			noContent(t, err)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := set.Resources[0].Spec["common"].(map[string]any)["token"].(string); got == "" {
					t.Error("empty secret")
				}
				return
			}
			checkErrors(t, dir, err, []wantErr{{File: "m.yaml", Line: 9, Col: 19, Field: "spec.common.token", Msg: tt.want}})
		})
	}
}

// named gives a manifest another name and label, so that copies load.
func named(manifest, name string) string {
	return strings.Replace(strings.Replace(manifest, "name: crm", "name: "+name, 1), "label: ACME", "label: "+name, 1)
}

func TestSecurityReadLimits(t *testing.T) {
	big := with(makeDoc, "  common: {x: '"+strings.Repeat("a", 2000)+"'}")
	tests := []struct {
		name   string
		files  map[string]string
		limits Limits
		want   []wantErr
	}{
		{"manifest over its limit", map[string]string{"m.yaml": big}, Limits{ManifestBytes: 1000},
			[]wantErr{{File: "m.yaml", Msg: "is larger than 1000 bytes (the limit set by SYNCD_MAX_MANIFEST_BYTES); not read"}}},
		{"$file over its limit", map[string]string{"m.yaml": apiFile("api.json"), "api.json": "[" + strings.Repeat(`"x",`, 500) + "1]"}, Limits{FileBytes: 1000},
			[]wantErr{{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "is larger than 1000 bytes (the limit set by SYNCD_MAX_FILE_BYTES)"}}},
		{"directory over the total, reported once", map[string]string{
			"a.yaml": named(big, "a"), "b.yaml": named(big, "b"), "c.yaml": named(big, "c"), "d.yaml": named(big, "d"),
		}, Limits{TotalBytes: 5000},
			[]wantErr{{File: "c.yaml", Msg: "the manifests directory holds more than 5000 bytes (with its $file includes and secrets; the limit set by SYNCD_MAX_TOTAL_BYTES)"}}},
		{"within every limit", map[string]string{"m.yaml": big}, Limits{ManifestBytes: 4000, TotalBytes: 4000}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := loadWithin(t, dir, Options{Limits: tt.limits})
			checkErrors(t, dir, err, tt.want)
		})
	}
}

// TestSecurityIncludeDepth: a $file nested a million deep used to overflow
// the JSONC parser's stack and kill the process.
func TestSecurityIncludeDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name, content string
		want          string // "" loads
	}{
		{"a million deep", "// deep\n" + nest(1_000_000), "api.json:2:65: nested more than 64 levels deep"},
		{"objects", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), "api.json:1:321: nested more than 64 levels deep"},
		{"64 deep is fine", nest(64), ""},
		{"brackets in strings and comments do not count", `["` + strings.Repeat("[", 100) + `", /* ` + strings.Repeat("{", 100) + " */ 1] // " + strings.Repeat("[", 100) + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"m.yaml": apiFile("api.json"), "api.json": tt.content})
			_, err := loadWithin(t, dir, Options{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErrors(t, dir, err, []wantErr{{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: tt.want}})
		})
	}
}

func TestSecurityInvalidUTF8(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  wantErr
	}{
		{"in a manifest", map[string]string{"m.yaml": with(makeDoc, "  common: {x: 'ab\xffc'}")},
			wantErr{File: "m.yaml", Line: 9, Col: 18, Msg: "invalid UTF-8"}},
		{"after multibyte characters", map[string]string{"m.yaml": "# é\n# ü\xc3\n"},
			wantErr{File: "m.yaml", Line: 2, Col: 4, Msg: "invalid UTF-8"}},
		{"in a $file", map[string]string{"m.yaml": apiFile("api.json"), "api.json": "{\n  \"a\": \"\xfe\"\n}"},
			wantErr{File: "m.yaml", Line: 9, Col: 27, Field: "spec.sections.api.$file", Msg: "api.json:2:9: invalid UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := loadWithin(t, dir, Options{})
			checkErrors(t, dir, err, []wantErr{tt.want})
		})
	}
}

// TestSecurityYAMLDepth: YAML nested a million deep is a positioned error,
// not a crash (the parser stops at 10,000 levels, the decoder at 64).
func TestSecurityYAMLDepth(t *testing.T) {
	tests := []struct {
		name, content string
		want          wantErr
	}{
		{"a million deep", "a: " + strings.Repeat("[", 1_000_000) + "\n",
			wantErr{File: "m.yaml", Line: 1, Col: 10004, Msg: "exceeded max depth"}},
		{"deeper than 64 in spec", with(makeDoc, "  common: {x: "+strings.Repeat("[", 70)+strings.Repeat("]", 70)+"}"),
			wantErr{File: "m.yaml", Line: 9, Col: 79, Field: "spec.common.x" + strings.Repeat("[0]", 64), Msg: "nested more than 64 levels deep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"m.yaml": tt.content})
			_, err := loadWithin(t, dir, Options{})
			checkErrors(t, dir, err, []wantErr{tt.want})
		})
	}
}
