package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBashCompletion runs the generated script in a real bash and asks it
// what it completes.
func TestBashCompletion(t *testing.T) {
	r := syncdCmd(t, nil, nil, "completion", "bash")
	if r.code != 0 {
		t.Fatalf("completion bash: exit %d\n%s", r.code, r.stderr)
	}
	script := filepath.Join(t.TempDir(), "syncd.bash")
	if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		words []string // the last one is being completed
		want  []string
	}{
		{[]string{"pl"}, []string{"plan"}},
		{[]string{"inventory", ""}, []string{"list", "forget", "bind"}},
		{[]string{"inventory", "list", "--fo"}, []string{"--format"}},
		{[]string{"plan", "--format", ""}, []string{"text", "json", "markdown"}},
		{[]string{"plan", "--format=json", "--show-u"}, []string{"--show-unmanaged"}},
		{[]string{"run", "--mode", "a"}, []string{"apply"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"--log-level", "debug", "dri"}, []string{"drift"}},
		{[]string{"apply", "--tar"}, []string{"--target"}},
	}
	for _, tt := range tests {
		words := append([]string{"syncd"}, tt.words...)
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellQuote(w))
		}
		prog := "source " + shellQuote(script) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			itoaInt(len(words)-1) + "\n_syncd\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command("bash", "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.words, err, out)
		}
		got := strings.Fields(string(out))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("completing %q (-want +got):\n%s", tt.words, diff)
		}
	}
}

func itoaInt(i int) string { return strconv.Itoa(i) }

// TestZshAndFishCompletion checks the generated scripts' content (neither
// shell is part of the test image): zsh loads the bash script through
// bashcompinit; fish has a line per command, subcommand and flag.
func TestZshAndFishCompletion(t *testing.T) {
	bash := syncdCmd(t, nil, nil, "completion", "bash").stdout
	zsh := syncdCmd(t, nil, nil, "completion", "zsh")
	if zsh.code != 0 || !strings.HasPrefix(zsh.stdout, "#compdef syncd\n") || !strings.Contains(zsh.stdout, "bashcompinit") || !strings.HasSuffix(zsh.stdout, bash) {
		t.Errorf("zsh script:\n%s", zsh.stdout)
	}
	fish := syncdCmd(t, nil, nil, "completion", "fish")
	for _, want := range []string{
		`complete -c syncd -n '__syncd_at ""' -a 'inventory'`,
		`complete -c syncd -n '__syncd_at "inventory"' -a 'bind'`,
		`complete -c syncd -n '__syncd_at "plan"' -l format -x -a 'text json markdown'`,
		`complete -c syncd -n '__syncd_at "plan"' -l target -r -F`,
		`complete -c syncd -n '__syncd_at "completion"' -a 'bash zsh fish'`,
		`set -g __syncd_commands 'validate' 'plan'`,
	} {
		if fish.code != 0 || !strings.Contains(fish.stdout, want) {
			t.Errorf("fish script lacks %q:\n%s", want, fish.stdout)
		}
	}
	if r := syncdCmd(t, nil, nil, "completion", "tcsh"); r.code != 1 {
		t.Errorf("completion tcsh: exit %d, want 1", r.code)
	}
}
