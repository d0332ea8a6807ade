package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body,
// keyed with SYNCD_NOTIFY_SECRET.
const SignatureHeader = "X-Syncd-Signature"

// Sign returns the X-Syncd-Signature value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is a valid signature of body: what a
// receiver does, with a constant-time comparison.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// sinkKind is how a sink renders and sends.
type sinkKind string

const (
	kindWebhook sinkKind = "webhook"
	kindSlack   sinkKind = "slack"
)

// sink is one configured destination. Its URL is never logged, stored or
// put in a metric (a Slack webhook URL is a credential): it is named by
// id, its kind and a hash of the URL.
type sink struct {
	id   string
	kind sinkKind
	url  string
	host string // for log lines
}

func newSink(kind sinkKind, raw string) (sink, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not quoted: it may hold a token.
		return sink{}, fmt.Errorf("notify: --notify-%s: not an http(s) URL with a host", kind)
	}
	h := sha256.Sum256([]byte(raw))
	return sink{id: string(kind) + "-" + hex.EncodeToString(h[:4]), kind: kind, url: raw, host: u.Host}, nil
}

// render makes the body this sink sends for n.
func (s sink) render(n Notification) ([]byte, error) {
	if s.kind == kindSlack {
		return json.Marshal(slackMessage(n))
	}
	return json.Marshal(n)
}

// send posts body once. A 2xx answer is delivery; anything else is an
// error worth retrying. Errors name the sink and the status, never the URL.
func (s sink) send(ctx context.Context, client *http.Client, secret []byte, typ, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request", s.id)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "syncd-notify/1")
	if s.kind == kindWebhook {
		req.Header.Set("X-Syncd-Event", typ)
		req.Header.Set("X-Syncd-Event-Key", key)
		req.Header.Set(SignatureHeader, Sign(secret, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s (%s): %w", s.id, s.host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s (%s): HTTP %d", s.id, s.host, resp.StatusCode)
	}
	return nil
}

// Slack's Block Kit, the parts used here.
type slackPayload struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// maxSlackFields bounds the lines of field paths (a section holds at most
// 3000 characters).
const maxSlackFields = 20

// slackMessage is n as an incoming-webhook message: a headline, one line
// per field path, and a context line with the run, the revision and a link
// to the console.
func slackMessage(n Notification) slackPayload {
	head := "*" + title(n.Type) + "*"
	if n.Resource != nil {
		head += " on `" + slackEscape(n.Resource.Kind+"/"+n.Resource.Name) + "`"
		if n.Resource.RemoteID != "" {
			head += " (remote id `" + slackEscape(n.Resource.RemoteID) + "`)"
		}
	} else {
		head += ": run `" + slackEscape(n.RunID) + "`"
	}
	if n.Outcome != "" && n.Type == DriftResolved {
		head += ": " + slackEscape(n.Outcome)
	}
	if n.Error != "" {
		head += "\n" + slackEscape(n.Error)
	}
	p := slackPayload{Text: slackEscape(n.Summary)}
	p.Blocks = append(p.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: head}})
	if len(n.Fields) > 0 {
		var lines []string
		for i, f := range n.Fields {
			if i == maxSlackFields {
				lines = append(lines, fmt.Sprintf("… and %d more", len(n.Fields)-maxSlackFields))
				break
			}
			lines = append(lines, "• `"+slackEscape(f)+"`")
		}
		p.Blocks = append(p.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: strings.Join(lines, "\n")}})
	}
	link := n.Links.Console
	if n.Links.Resource != "" {
		link = n.Links.Resource
	}
	ctx := "run `" + slackEscape(n.RunID) + "`"
	if n.Revision != "" {
		ctx += " · revision `" + slackEscape(n.Revision) + "`"
	}
	ctx += " · <" + link + "|Open in the syncd console>"
	p.Blocks = append(p.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: ctx}}})
	return p
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
