package registry

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// namingAllowed are the files outside the platform folders that may name a
// platform, and why. Everything else of the core reaches a platform through
// the registry.
var namingAllowed = map[string]string{
	// The registry's one line per platform.
	"internal/platform/registry/registry.go": "the list of platforms",
	// The kinds' constants that tests and fixtures use; the core does not.
	"internal/syncd/kinds.go": "the kinds' names for tests and fixtures",
	// Fixtures of the two shipped platforms: the benchmark's generated
	// fleet and the test environment's manifests.
	"internal/bench/fleet.go":       "benchmark fleet of Make and Patchworks manifests",
	"internal/testenv/manifests.go": "test manifests of Make and Patchworks",
	// The emulator command's options: the emulator serves both APIs.
	"cmd/syncd/emulator.go": "the emulator's per-platform options",
	// The test stack's settings values that point each shipped platform
	// at the emulator (a new platform with an emulator adds its line).
	"internal/testenv/platforms.go": "each platform's settings for the emulator",
	// Options.MakeApps: the Make apps the test emulator has (an emulator
	// option, not configuration; a new platform does not touch it).
	"internal/testenv/testenv.go": "the emulator's Make apps",
}

// TestOnlyThePlatformFoldersNameAPlatform parses every non-test Go file of
// the module and lists those outside internal/platform/<name>/ (and the
// emulator, which imports nothing of ours) that name a platform: import
// its folder, use its kind's constant, spell its name or kind as a string,
// or write its kind in a text (a help text, a fixture). Only the files of
// namingAllowed may: adding a platform touches its folder, the registry's
// list and, to run in the test stack, testenv's emulator settings.
func TestOnlyThePlatformFoldersNameAPlatform(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]bool{} // as strings
	kinds := map[string]bool{} // as identifiers too (not "make": the builtin)
	var titles []string        // an identifier such as MakeURL
	var folders []string
	for _, p := range All() {
		titles = append(titles, p.Title())
		words[p.Name()] = true
		words[string(p.Kind())] = true
		kinds[string(p.Kind())] = true
		folders = append(folders, "internal/platform/"+p.Name()+"/")
	}
	platformFolders := len(folders)
	folders = append(folders, "internal/emulator/")
	const module = "github.com/syncd/syncd/"

	naming := map[string][]string{} // file -> what it names
	files := 0
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if e.IsDir() {
			if name := e.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		for _, f := range folders {
			if strings.HasPrefix(rel, f) {
				return nil
			}
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		add := func(what string) {
			if !slices.Contains(naming[rel], what) {
				naming[rel] = append(naming[rel], what)
			}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, folder := range folders[:platformFolders] {
				if p+"/" == module+folder {
					add("imports " + p)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				if kinds[x.Name] {
					add(x.Name)
				}
				for _, title := range titles {
					if rest, ok := strings.CutPrefix(x.Name, title); ok && rest != "" && !kinds[x.Name] {
						add(x.Name)
					}
				}
			case *ast.BasicLit:
				if x.Kind == token.STRING {
					s, err := strconv.Unquote(x.Value)
					if err != nil {
						break
					}
					if words[s] {
						add(strconv.Quote(s))
					}
					for k := range kinds {
						if s != k && strings.Contains(s, k) {
							add("text with " + k)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned %d files under %s: not the module", files, root)
	}
	var got, want []string
	for rel := range naming {
		got = append(got, rel)
	}
	for rel := range namingAllowed {
		want = append(want, rel)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		for _, rel := range got {
			t.Logf("%s names %s", rel, strings.Join(naming[rel], ", "))
		}
		t.Errorf("files outside the platform folders that name a platform (-allowed +found):\n%s", diff)
	}
}
