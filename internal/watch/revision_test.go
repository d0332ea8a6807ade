package watch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRevision(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, repo string, git func(...string) string) (dir, want string)
	}{
		{
			name: "not a checkout",
			setup: func(t *testing.T, _ string, _ func(...string) string) (string, string) {
				return t.TempDir(), ""
			},
		},
		{
			name: "no commit yet",
			setup: func(t *testing.T, repo string, git func(...string) string) (string, string) {
				return repo, ""
			},
		},
		{
			name: "clean",
			setup: func(t *testing.T, repo string, git func(...string) string) (string, string) {
				return filepath.Join(repo, "manifests"), commitAll(t, repo, git)
			},
		},
		{
			name: "modified manifest",
			setup: func(t *testing.T, repo string, git func(...string) string) (string, string) {
				head := commitAll(t, repo, git)
				write(t, repo, "manifests/a.yaml", "v2")
				return filepath.Join(repo, "manifests"), head + "-dirty"
			},
		},
		{
			name: "untracked manifest",
			setup: func(t *testing.T, repo string, git func(...string) string) (string, string) {
				head := commitAll(t, repo, git)
				write(t, repo, "manifests/new.yaml", "v1")
				return filepath.Join(repo, "manifests"), head + "-dirty"
			},
		},
		{
			name: "change outside the manifests directory",
			setup: func(t *testing.T, repo string, git func(...string) string) (string, string) {
				head := commitAll(t, repo, git)
				write(t, repo, "README.md", "changed")
				return filepath.Join(repo, "manifests"), head
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := t.TempDir()
			git := gitRepo(t, repo)
			dir, want := tt.setup(t, repo, git)
			if diff := cmp.Diff(want, Revision(dir)); diff != "" {
				t.Errorf("Revision (-want +got):\n%s", diff)
			}
		})
	}
}

// commitAll commits a manifests directory and a README and returns HEAD.
func commitAll(t *testing.T, repo string, git func(...string) string) string {
	t.Helper()
	write(t, repo, "manifests/a.yaml", "v1")
	write(t, repo, "README.md", "readme")
	git("add", ".")
	git("commit", "-q", "-m", "init")
	head := strings.TrimSpace(git("rev-parse", "HEAD"))
	if len(head) != 40 {
		t.Fatalf("rev-parse HEAD = %q", head)
	}
	if _, err := os.Stat(filepath.Join(repo, "manifests")); err != nil {
		t.Fatal(err)
	}
	return head
}
