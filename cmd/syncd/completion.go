package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// completionCmd prints a shell completion script generated from the
// command line's own model, so it cannot fall behind the commands.
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"Shell: bash, zsh or fish."`

	out io.Writer `kong:"-"`
}

func (c *completionCmd) Help() string {
	return `Load it in the current shell, or install it:

  bash:  source <(syncd completion bash)      # or: syncd completion bash > /etc/bash_completion.d/syncd
  zsh:   source <(syncd completion zsh)       # or: syncd completion zsh > "${fpath[1]}/_syncd"
  fish:  syncd completion fish | source       # or: syncd completion fish > ~/.config/fish/completions/syncd.fish

It completes commands, subcommands, flags and the values of flags that take
one of a fixed set (--format, --mode, --log-level, ...), and file names for
the other flags.`
}

func (c *completionCmd) Run(kctx *kong.Context) error {
	w := writerOr(c.out)
	cmds := completionModel(kctx.Model.Node)
	switch c.Shell {
	case "bash":
		return writeBashCompletion(w, cmds)
	case "zsh":
		return writeZshCompletion(w, cmds)
	}
	return writeFishCompletion(w, cmds)
}

// complCmd is one command as completion sees it: its path of names ("" for
// syncd itself), subcommands and flags.
type complCmd struct {
	path  []string
	help  string
	subs  []*complCmd
	flags []complFlag
	// values are the fixed values of its positional argument, if any
	// (syncd completion bash|zsh|fish).
	values []string
}

type complFlag struct {
	name  string
	help  string
	bool  bool
	enum  []string
	short rune
}

// completionModel walks the visible commands and their flags (inherited
// ones included, as kong accepts them after the command).
func completionModel(root *kong.Node) []*complCmd {
	var out []*complCmd
	var walk func(n *kong.Node, path []string, inherited []complFlag) *complCmd
	walk = func(n *kong.Node, path []string, inherited []complFlag) *complCmd {
		c := &complCmd{path: path, help: n.Help}
		c.flags = append(slices.Clone(inherited), flagsOf(n)...)
		for _, p := range n.Positional {
			if p.Enum != "" {
				for _, v := range strings.Split(p.Enum, ",") {
					c.values = append(c.values, strings.TrimSpace(v))
				}
			}
		}
		out = append(out, c)
		for _, ch := range n.Children {
			if ch.Hidden || ch.Type != kong.CommandNode {
				continue
			}
			c.subs = append(c.subs, walk(ch, append(slices.Clone(path), ch.Name), c.flags))
		}
		return c
	}
	walk(root, nil, nil)
	return out
}

func flagsOf(n *kong.Node) []complFlag {
	var out []complFlag
	for _, f := range n.Flags {
		if f.Hidden {
			continue
		}
		cf := complFlag{name: f.Name, help: firstSentence(f.Help), bool: f.IsBool(), short: f.Short}
		if f.Enum != "" {
			for _, v := range strings.Split(f.Enum, ",") {
				cf.enum = append(cf.enum, strings.TrimSpace(v))
			}
		}
		out = append(out, cf)
	}
	return out
}

// firstSentence shortens a help text for the one-line descriptions of
// zsh and fish.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

func pathKey(path []string) string { return strings.Join(path, " ") }

func subNames(c *complCmd) []string {
	s := slices.Clone(c.values)
	for _, sub := range c.subs {
		s = append(s, sub.path[len(sub.path)-1])
	}
	return s
}

func writeBashCompletion(w io.Writer, cmds []*complCmd) error {
	var b strings.Builder
	b.WriteString(`# bash completion for syncd (syncd completion bash)
_syncd() {
    local cur prev path w i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    path=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        case "$w" in -*) continue ;; esac
        if _syncd_is_command "${path:+$path }$w"; then path="${path:+$path }$w"; fi
    done
    case "$path|$prev" in
`)
	for _, c := range cmds {
		for _, f := range c.flags {
			switch {
			case f.bool:
			case len(f.enum) > 0:
				fmt.Fprintf(&b, "        %s) COMPREPLY=($(compgen -W %s -- \"$cur\")); return ;;\n",
					shellQuote(pathKey(c.path)+"|--"+f.name), shellQuote(strings.Join(f.enum, " ")))
			default:
				fmt.Fprintf(&b, "        %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", shellQuote(pathKey(c.path)+"|--"+f.name))
			}
		}
	}
	b.WriteString(`    esac
    local words
    case "$path" in
`)
	for _, c := range cmds {
		var words []string
		for _, f := range c.flags {
			words = append(words, "--"+f.name)
		}
		fmt.Fprintf(&b, "        %s)\n            if [[ $cur == -* ]]; then words=%s; else words=%s; fi ;;\n",
			shellQuote(pathKey(c.path)), shellQuote(strings.Join(words, " ")), shellQuote(strings.Join(subNames(c), " ")))
	}
	b.WriteString(`    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_syncd_is_command() {
    case "$1" in
`)
	var all []string
	for _, c := range cmds {
		if len(c.path) > 0 {
			all = append(all, shellQuote(pathKey(c.path)))
		}
	}
	fmt.Fprintf(&b, "        %s) return 0 ;;\n", strings.Join(all, "|"))
	b.WriteString(`    esac
    return 1
}
complete -o default -F _syncd syncd
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeZshCompletion uses zsh's bash-completion emulation (bashcompinit),
// which zsh ships: one script to keep right instead of two.
func writeZshCompletion(w io.Writer, cmds []*complCmd) error {
	if _, err := io.WriteString(w, "#compdef syncd\n# zsh completion for syncd (syncd completion zsh), through zsh's bashcompinit\nautoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n"); err != nil {
		return err
	}
	return writeBashCompletion(w, cmds)
}

func writeFishCompletion(w io.Writer, cmds []*complCmd) error {
	var b strings.Builder
	b.WriteString(`# fish completion for syncd (syncd completion fish)
function __syncd_path
    set -l path
    for w in (commandline -opc)[2..-1]
        string match -q -- '-*' $w; and continue
        if contains -- (string join ' ' $path $w) $__syncd_commands
            set path $path $w
        end
    end
    string join ' ' $path
end
function __syncd_at
    set -l p (__syncd_path)
    test "$p" = "$argv"
end
complete -c syncd -f
`)
	var all []string
	for _, c := range cmds {
		if len(c.path) > 0 {
			all = append(all, shellQuote(pathKey(c.path)))
		}
	}
	fmt.Fprintf(&b, "set -g __syncd_commands %s\n", strings.Join(all, " "))
	for _, c := range cmds {
		cond := shellQuote("__syncd_at " + fishQuote(pathKey(c.path)))
		for _, sub := range c.subs {
			fmt.Fprintf(&b, "complete -c syncd -n %s -a %s -d %s\n", cond, shellQuote(sub.path[len(sub.path)-1]), shellQuote(firstSentence(sub.help)))
		}
		if len(c.values) > 0 {
			fmt.Fprintf(&b, "complete -c syncd -n %s -a %s\n", cond, shellQuote(strings.Join(c.values, " ")))
		}
		for _, f := range c.flags {
			line := fmt.Sprintf("complete -c syncd -n %s -l %s", cond, f.name)
			if f.short != 0 {
				line += fmt.Sprintf(" -s %c", f.short)
			}
			switch {
			case f.bool:
			case len(f.enum) > 0:
				line += " -x -a " + shellQuote(strings.Join(f.enum, " "))
			default:
				line += " -r -F"
			}
			fmt.Fprintf(&b, "%s -d %s\n", line, shellQuote(f.help))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes s for bash, zsh and fish alike (single quotes; fish
// and bash both end and reopen them around an escaped quote).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes an argument inside a fish condition string.
func fishQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(s) + `"`
}
