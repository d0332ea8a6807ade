package transport

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// MinRedactLen, Withheld, SecretValues and Encodings are the domain's
// (internal/syncd): one redactor for every output.
const (
	MinRedactLen = syncd.MinRedactLen
	Withheld     = syncd.Withheld
)

// SecretValues is syncd.SecretValues: d's secrets by the loader's marks and
// its platform's rules.
func SecretValues(d *syncd.Desired, rules syncd.Rules) []string { return syncd.SecretValues(d, rules) }

// Encodings is syncd.Encodings.
func Encodings(secret string) []string { return syncd.Encodings(secret) }

// Redact removes every secret from err's text, in every encoding of
// Encodings. A secret too short to cut out safely (under MinRedactLen
// characters, or a number) cannot be told apart from ordinary text: when
// the platform's message or field errors hold it in any form, they are
// replaced by Withheld. An *platform.APIError keeps its type, kind and
// status so that callers can still classify it; any other error becomes a
// plain one with the redacted text.
func Redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	sc := syncd.NewScrubber(secrets)
	text := err.Error()
	var ae *platform.APIError
	if !errors.As(err, &ae) {
		if sc.Suspect(text) {
			return errors.New(Withheld)
		}
		if out := sc.Scrub(text); out != text {
			return errors.New(out)
		}
		return err
	}
	c := *ae
	c.Op = sc.Scrub(c.Op)
	withhold := sc.Suspect(c.Message)
	for _, msgs := range c.Fields {
		for _, m := range msgs {
			withhold = withhold || sc.Suspect(m)
		}
	}
	if withhold {
		c.Message, c.Fields = Withheld, nil
	} else {
		c.Message = sc.Scrub(c.Message)
		if c.Fields != nil {
			c.Fields = make(map[string][]string, len(ae.Fields))
			for k, msgs := range ae.Fields {
				out := make([]string, len(msgs))
				for i, m := range msgs {
					out[i] = sc.Scrub(m)
				}
				c.Fields[sc.Scrub(k)] = out
			}
		}
	}
	same := c.Op == ae.Op && c.Message == ae.Message && maps.EqualFunc(c.Fields, ae.Fields, slices.Equal)
	if ae.Error() == text {
		if same {
			return err
		}
		return &c
	}
	// A wrapped APIError: the text around it is syncd's own, but scrub it
	// too, and keep the APIError reachable with errors.As.
	outer := strings.Replace(text, ae.Error(), c.Error(), 1)
	if sc.Suspect(outer) {
		outer = c.Error()
	}
	outer = sc.Scrub(outer)
	if same && outer == text {
		return err
	}
	return &redacted{text: outer, inner: &c}
}

type redacted struct {
	text  string
	inner error
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.inner }
