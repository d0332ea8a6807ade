package transport

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// SecretValues returns the string forms of d's sensitive values (at least
// 4 characters long, so that redaction does not shred ordinary words).
// A server that echoes what it was sent could otherwise carry a secret into
// an error message.
func SecretValues(d *syncd.Desired) []string {
	if d == nil {
		return nil
	}
	var out []string
	var walk func(ptr string, v any)
	walk = func(ptr string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(ptr+"/"+syncd.EscapePointerToken(k), x)
			}
		case []any:
			for _, x := range v {
				walk(ptr+"/-", x)
			}
		case string:
			if len(v) >= 4 && d.IsSensitive(ptr) {
				out = append(out, v)
			}
		}
	}
	walk("", d.Spec)
	// Patchworks variables marked secret are sensitive whatever the pointer list says.
	if vars, ok := d.Spec["variables"].(map[string]any); ok {
		for _, v := range vars {
			if m, ok := v.(map[string]any); ok && m["secret"] == true {
				if s, ok := m["value"].(string); ok && len(s) >= 4 {
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Redact replaces every secret in err's text by syncd.Redacted. An
// *platform.APIError keeps its type and fields so that callers can still
// classify it; any other error becomes a plain one with the redacted text.
func Redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	scrub := func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, syncd.Redacted)
		}
		return s
	}
	text := err.Error()
	if scrub(text) == text {
		return err
	}
	var ae *platform.APIError
	if errors.As(err, &ae) && ae.Error() == text {
		c := *ae
		c.Message = scrub(c.Message)
		c.Op = scrub(c.Op)
		if c.Fields != nil {
			c.Fields = maps.Clone(c.Fields)
			for k, msgs := range c.Fields {
				out := make([]string, len(msgs))
				for i, m := range msgs {
					out[i] = scrub(m)
				}
				c.Fields[k] = out
			}
		}
		return &c
	}
	if ae != nil {
		// A wrapped APIError: keep it reachable with errors.As.
		c := *ae
		c.Message = scrub(c.Message)
		c.Op = scrub(c.Op)
		c.Fields = nil
		return &redacted{text: scrub(text), inner: &c}
	}
	return errors.New(scrub(text))
}

type redacted struct {
	text  string
	inner error
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.inner }
