package syncd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// MinRedactLen is the shortest secret that is redacted by replacement. A
// shorter one (or a number) would also match ordinary text, so an error
// that may echo it loses the platform's message instead (see ScrubText and
// transport.Redact).
const MinRedactLen = 4

// Withheld replaces a platform's message that may repeat a secret too
// short, or too ordinary, to be cut out of it.
const Withheld = "(the platform's message is withheld: it may repeat a sensitive value)"

// SecretValues returns the text of every sensitive value of d, whatever its
// length: strings as they are, numbers and booleans in their JSON form. A
// value is sensitive when the loader marked it or its platform's rules say
// so (rules may be nil: the marks only). Where a sensitive value sits next
// to other strings in the same object (clientId and clientSecret, username
// and password) it also returns "other:secret", the pair HTTP Basic
// authentication encodes. A server that echoes what it was sent could
// otherwise carry a secret into an error.
func SecretValues(d *Desired, rules Rules) []string {
	if d == nil {
		return nil
	}
	var out []string
	sensitive := func(ptr string) bool {
		return d.IsSensitive(ptr) || rules != nil && rules.Sensitive(ptr, d.Spec)
	}
	collect(d.Spec, "", sensitive, &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func collect(v any, ptr string, sensitive func(string) bool, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		var secrets, others []string
		for k, x := range v {
			p := ptr + "/" + EscapePointerToken(k)
			collect(x, p, sensitive, out)
			if s, ok := x.(string); ok {
				if sensitive(p) {
					secrets = append(secrets, s)
				} else {
					others = append(others, s)
				}
			}
		}
		for _, s := range secrets {
			for _, o := range others {
				*out = append(*out, o+":"+s)
			}
		}
	case []any:
		for _, x := range v {
			collect(x, ptr+"/-", sensitive, out)
		}
	default:
		if s, ok := scalarText(v); ok && sensitive(ptr) {
			*out = append(*out, s)
		}
	}
}

func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case nil:
		return "", false
	case json.Number:
		return v.String(), true
	case float64, int, int64, bool:
		b, err := json.Marshal(v)
		return string(b), err == nil
	}
	return "", false
}

// redactable reports whether s can be cut out of text by replacement
// without shredding ordinary words: long enough, and not a number.
func redactable(s string) bool {
	if len(s) < MinRedactLen {
		return false
	}
	if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return false
	}
	return true
}

// Encodings returns the forms secret can take on the wire or in an echo of
// it: raw; JSON-escaped as Go and as PHP write it (escaped slashes and
// \uXXXX for every non-ASCII character), and escaped twice; URL-encoded
// (query and path, upper and lower hex); base64 (standard and URL
// alphabets, padded or not). Matching is case-insensitive, which covers
// the hex digits of every escape.
func Encodings(secret string) []string {
	if secret == "" {
		return nil
	}
	set := map[string]bool{secret: true}
	add := func(s string) {
		if s != "" {
			set[s] = true
		}
	}
	for _, j := range []string{jsonEscape(secret, true), jsonEscape(secret, false), phpEscape(secret)} {
		add(j)
		add(jsonEscape(j, false))
		add(jsonEscape(j, true))
	}
	for _, u := range []string{url.QueryEscape(secret), url.PathEscape(secret), strings.ReplaceAll(url.QueryEscape(secret), "+", "%20")} {
		add(u)
		add(url.QueryEscape(u)) // encoded twice
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString([]byte(secret)))
	}
	return slices.Sorted(maps.Keys(set))
}

func jsonEscape(s string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		return s
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// phpEscape is json_encode's default string form without the quotes.
func phpEscape(s string) string {
	var b strings.Builder
	for _, r := range jsonEscape(s, false) {
		switch {
		case r == '/':
			b.WriteString(`\/`)
		case r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Scrubber replaces every encoding of the redactable secrets and tells
// whether a text holds any encoding of the others. It is the one redactor
// of secrets in text that came from outside (a platform's answer).
type Scrubber struct {
	cut   *regexp.Regexp // nil when no secret is redactable
	short *regexp.Regexp // nil when every secret is redactable
}

func NewScrubber(secrets []string) Scrubber {
	var long, short []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if redactable(s) {
			long = append(long, Encodings(s)...)
		} else {
			short = append(short, Encodings(s)...)
		}
	}
	return Scrubber{cut: alternation(long), short: alternation(short)}
}

// alternation matches any of words, case-insensitively, longest first so
// that a secret's encoding is cut whole rather than a shorter prefix of it.
func alternation(words []string) *regexp.Regexp {
	if len(words) == 0 {
		return nil
	}
	words = slices.Clone(words)
	slices.SortFunc(words, func(a, b string) int { return len(b) - len(a) })
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(?i)(?:` + strings.Join(q, "|") + `)`)
}

func (s Scrubber) Scrub(text string) string {
	if s.cut == nil {
		return text
	}
	return s.cut.ReplaceAllLiteralString(text, Redacted)
}

// suspect reports whether text may hold a secret that cannot be cut out.
func (s Scrubber) Suspect(text string) bool {
	return s.short != nil && s.short.MatchString(text)
}

// ScrubText is text without any secret: every redactable one cut out in
// every encoding, and the whole text withheld when it may hold one that
// cannot be cut out.
func ScrubText(text string, secrets []string) string {
	s := NewScrubber(secrets)
	if s.Suspect(text) {
		return Withheld
	}
	return s.Scrub(text)
}

// CutBytes replaces every encoding of the redactable secrets in b.
func (s Scrubber) CutBytes(b []byte) []byte {
	if s.cut == nil {
		return b
	}
	return s.cut.ReplaceAllLiteral(b, []byte(Redacted))
}

// CanCut reports whether any secret is redactable by replacement.
func (s Scrubber) CanCut() bool { return s.cut != nil }
