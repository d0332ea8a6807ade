package make

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// classify is the one place where a Make response becomes an error: nil for
// a 2xx, a context error when the caller gave up, an *platform.APIError
// otherwise. Only a 404 that is an API answer is KindNotFound, so a wrong
// base URL behind an HTML error page never makes objects look deleted.
func classify(op string, resp *transport.Response) error {
	if resp.Status == 0 {
		return resp.NoResponse(platformName, op)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return nil
	}
	e := &platform.APIError{Platform: platformName, Op: op, Status: resp.Status, Message: errorMessage(resp.Body)}
	if m, amb, ok := resp.Redirected(op); ok {
		e.Kind, e.Message, e.Ambiguous = platform.KindInvalid, m, amb
		return e
	}
	locked := strings.Contains(strings.ToLower(e.Message), "lock")
	switch s := resp.Status; {
	case s == http.StatusNotFound:
		e.Kind = platform.KindNotFound
		if strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/html") {
			e.Kind = platform.KindInvalid
			e.Message = "an HTML page, not an API answer: is the base URL right?"
		}
	case s == http.StatusUnauthorized:
		e.Kind = platform.KindUnauthorized
	case (s == http.StatusForbidden || s == http.StatusBadRequest) && locked:
		// Common data is locked once the app is approved: retrying or
		// rewording cannot help, a person must act.
		e.Kind = platform.KindConflict
		e.Message = "blocked: the data is locked (approved app): " + e.Message
	case s == http.StatusForbidden:
		e.Kind = platform.KindForbidden
	case s == http.StatusTooManyRequests:
		e.Kind = platform.KindRateLimited
		e.RetryAfter = resp.RetryAfter()
	case s == http.StatusConflict:
		e.Kind = platform.KindConflict
	case s >= 500:
		e.Kind = platform.KindTransient
		e.Ambiguous = transport.IsWrite(op)
		if resp.Attempts > 1 {
			e.Message = strings.TrimPrefix(e.Message+fmt.Sprintf("; gave up after %d attempts", resp.Attempts), "; ")
		}
	default:
		e.Kind = platform.KindInvalid
	}
	return e
}

// errorMessage reads Make's error body: {"message", "detail" (string or
// list), "code", "suberrors": [{"message"}]}. Anything else yields a short
// generic text: an unknown body is never echoed, as it could be a page
// reflecting what was sent.
func errorMessage(body []byte) string {
	var b struct {
		Message   string          `json:"message"`
		Detail    json.RawMessage `json:"detail"`
		Code      string          `json:"code"`
		Suberrors []struct {
			Message string `json:"message"`
		} `json:"suberrors"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	var parts []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !containsFold(parts, s) {
			parts = append(parts, s)
		}
	}
	add(b.Message)
	var ds string
	var dl []any
	if json.Unmarshal(b.Detail, &ds) == nil {
		add(ds)
	} else if json.Unmarshal(b.Detail, &dl) == nil {
		for _, d := range dl {
			switch d := d.(type) {
			case string:
				add(d)
			case map[string]any:
				if m, ok := d["message"].(string); ok {
					add(m)
				}
			}
		}
	}
	for _, s := range b.Suberrors {
		add(s.Message)
	}
	msg := strings.Join(parts, ": ")
	if b.Code != "" {
		msg = strings.TrimPrefix(msg+" ["+b.Code+"]", " ")
	}
	return msg
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
