package desired

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v4"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// refKind tells whether s is a secret reference: exactly ${env:NAME} or
// ${file:PATH}. Anything else, including a reference inside a longer
// string, is a literal (Make's own {{...}} expressions live in such strings).
func refKind(s string) (kind, arg string) {
	if !strings.HasPrefix(s, "${") || !strings.HasSuffix(s, "}") {
		return "", ""
	}
	inner := s[2 : len(s)-1]
	for _, k := range []string{"env", "file"} {
		if a, ok := strings.CutPrefix(inner, k+":"); ok {
			return k, a
		}
	}
	return "", ""
}

// resolve returns a string scalar's value, resolving a secret reference when
// the string is one and sits in spec. A resolved value is marked sensitive
// and never quoted in any message.
func (d *docState) resolve(n *yaml.Node, p path, s string) (text, bool, bool) {
	if !p.inSpec {
		return text{s: s}, false, true
	}
	kind, arg := refKind(s)
	switch kind {
	case "env":
		if !envName.MatchString(arg) {
			d.errorf(n, p, "invalid environment variable name %q in ${env:...} reference", arg)
			return text{}, false, false
		}
		v, ok := d.l.getenv(arg)
		if !ok {
			d.errorf(n, p, "environment variable %s is not set (referenced as ${env:%s})", arg, arg)
			return text{}, false, false
		}
		if v == "" {
			// NAME= is as unset as no NAME: an empty secret is never meant.
			d.errorf(n, p, "environment variable %s is set but empty (referenced as ${env:%s})", arg, arg)
			return text{}, false, false
		}
		d.markSensitive(p.ptr)
		return text{s: v, secret: true}, false, true
	case "file":
		if arg == "" {
			d.errorf(n, p, "empty path in ${file:} reference")
			return text{}, false, false
		}
		data, err := d.l.readSecret(d.dir, arg)
		if err != nil {
			d.errorf(n, p, "cannot read secret file %s: %s", arg, d.l.readErrText(err))
			return text{}, false, false
		}
		// Secret files are usually written by echo or by an orchestrator
		// that ends them with a newline nobody means as part of the secret.
		v := string(data)
		v = strings.TrimSuffix(v, "\n")
		v = strings.TrimSuffix(v, "\r")
		d.markSensitive(p.ptr)
		return text{s: v, secret: true}, false, true
	}
	return text{s: s}, false, true
}

// errNotAllowed is a ${file:} path outside every allowed directory.
var errNotAllowed = errors.New("it is outside the directories secrets may be read from " +
	"(the manifests directory, " + strings.Join(DefaultSecretDirs, ", ") + " and " + KnobSecretDirs + ")")

// inManifests resolves a path written in a manifest in directory dir
// (relative to the manifests directory) to a clean path relative to the
// manifests directory; ok is false when it lies outside, lexically. The
// reads themselves refuse symlinks that lead outside.
func (l *loader) inManifests(dir, p string) (string, bool) {
	if filepath.IsAbs(p) {
		return l.manifests.relOf(p)
	}
	rel := filepath.Join(dir, p)
	return rel, local(rel)
}

// readSecret reads a ${file:} path written in a manifest in dir: from the
// manifests directory, or from the first secret directory that holds it.
func (l *loader) readSecret(dir, p string) ([]byte, error) {
	if rel, ok := l.inManifests(dir, p); ok {
		return l.readIn(l.manifests, rel, l.limits.SecretBytes, KnobSecretBytes, true, false)
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(l.manifests.abs, dir, p)
	}
	for _, sd := range l.secretDirs {
		if sd == "" {
			continue
		}
		a := l.secrets[sd]
		if a == nil {
			a = &area{shown: sd}
			a.abs, a.err = filepath.Abs(sd)
			a.abs = filepath.Clean(a.abs)
			if l.secrets == nil {
				l.secrets = map[string]*area{}
			}
			l.secrets[sd] = a
		}
		rel, ok := a.relOf(abs)
		if !ok {
			continue
		}
		if a.root == nil && a.real == "" && a.err == nil {
			*a = *newArea(sd)
		}
		return l.readIn(a, rel, l.limits.SecretBytes, KnobSecretBytes, true, false)
	}
	return nil, errNotAllowed
}
