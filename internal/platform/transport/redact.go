package transport

import (
	"errors"
	"maps"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Redact replaces every secret (syncd.Desired.Secrets) in err's text by
// syncd.Redacted, with the domain's one redactor (syncd.RedactText). An
// *platform.APIError keeps its type and fields so that callers can still
// classify it; any other error becomes a plain one with the redacted text.
func Redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	scrub := func(s string) string { return syncd.RedactText(s, secrets) }
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
