package main

import (
	"strings"
	"testing"
)

// TestHelpOfIssue17Commands: the targeting flag, the inventory commands
// and the editor commands each have a --help that names what they do.
func TestHelpOfIssue17Commands(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"plan"}, []string{"--target=KIND/NAME", "never prunes"}},
		{[]string{"apply"}, []string{"--target=KIND/NAME"}},
		{[]string{"run"}, []string{"--target=KIND/NAME"}},
		{[]string{"inventory"}, []string{"list", "forget", "bind"}},
		{[]string{"inventory", "list"}, []string{"--format", "SELECT-only"}},
		{[]string{"inventory", "forget"}, []string{"without deleting", "audited"}},
		{[]string{"inventory", "bind"}, []string{"REMOTE_ID", "already bound"}},
		{[]string{"plan"}, []string{"--show-unmanaged"}},
		{[]string{"completion"}, []string{"bash", "zsh", "fish", "source <(syncd completion bash)"}},
		{[]string{"schema"}, []string{"draft-07"}},
		{[]string{"drift", "accept"}, []string{"--field=PATH", "--dry-run", "never a secret"}},
		{[]string{"import"}, []string{"--force", "--secrets-as-env", "any case"}},
	}
	for _, tt := range tests {
		r := syncdCmd(t, nil, nil, append(tt.args, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: syncd "+strings.Join(tt.args, " ")) {
			t.Errorf("%v --help: exit %d\n%s%s", tt.args, r.code, r.stdout, r.stderr)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v --help lacks %q:\n%s", tt.args, w, r.stdout)
			}
		}
	}
}
