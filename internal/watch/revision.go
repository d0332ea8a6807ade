package watch

import (
	"bytes"
	"os/exec"
	"strings"
)

// Revision is the git commit checked out in dir, with a "-dirty" suffix when
// anything under dir differs from it (modified, staged or untracked files),
// or "" when dir is not inside a git checkout or git is not installed. It is
// what audit events record as the manifests' revision.
func Revision(dir string) string {
	out, err := git(dir, "rev-parse", "--verify", "--quiet", "HEAD")
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if rev == "" {
		return ""
	}
	// --no-optional-locks: a status that refreshes the index would write
	// .git/index under the very directory being watched.
	status, err := git(dir, "--no-optional-locks", "status", "--porcelain", "--", ".")
	if err != nil {
		return rev
	}
	if len(bytes.TrimSpace(status)) > 0 {
		return rev + "-dirty"
	}
	return rev
}

func git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	return cmd.Output()
}
