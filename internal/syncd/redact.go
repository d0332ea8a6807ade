package syncd

import (
	"slices"
	"strings"
)

// Secrets returns the string forms of d's secret values: those the loader
// marked (resolved ${env:}/${file:} references) and those its platform's
// rules call secret (nil rules: the marks only). Values shorter than 4
// characters are left out, so that redaction does not shred ordinary words.
// This is the one list every output's redaction uses (RedactText): error
// texts a server echoed, intent and audit error columns, logs.
func (d *Desired) Secrets(rules Rules) []string {
	if d == nil {
		return nil
	}
	var out []string
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(ptr+"/"+EscapePointerToken(k), x)
			}
		case []any:
			for _, x := range v {
				walk(ptr+"/-", x)
			}
		case string:
			if len(v) >= 4 && (d.IsSensitive(ptr) || rules != nil && rules.Sensitive(ptr, d.Spec)) {
				out = append(out, v)
			}
		}
	}
	walk("", d.Spec)
	slices.Sort(out)
	return slices.Compact(out)
}

// RedactText replaces every secret in s by Redacted, longest first so that
// a secret containing another is never left half shown.
func RedactText(s string, secrets []string) string {
	if len(secrets) == 0 {
		return s
	}
	byLen := slices.Clone(secrets)
	slices.SortStableFunc(byLen, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range byLen {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}
