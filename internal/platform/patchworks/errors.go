package patchworks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// classify is the one place where a Patchworks response becomes an error:
// nil for a 2xx, a context error when the caller gave up, an
// *platform.APIError otherwise. Only a 404 that is an API answer (not an
// HTML page from a proxy or a wrong base URL) is KindNotFound.
func classify(op string, resp *transport.Response) error {
	if resp.Status == 0 {
		return resp.NoResponse(platformName, op)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return nil
	}
	var body struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	_ = json.Unmarshal(resp.Body, &body) // a body of another shape leaves the message empty, never echoed
	e := &platform.APIError{Platform: platformName, Op: op, Status: resp.Status, Message: strings.TrimSpace(body.Message)}
	if m, amb, ok := resp.Redirected(op); ok {
		e.Kind, e.Message, e.Ambiguous = platform.KindInvalid, m, amb
		return e
	}
	switch s := resp.Status; {
	case s == http.StatusNotFound:
		e.Kind = platform.KindNotFound
		switch {
		case strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/html"):
			e.Kind = platform.KindInvalid
			e.Message = "an HTML page, not an API answer: is the base URL right?"
		case strings.HasPrefix(e.Message, "The route "):
			// Laravel's answer for a path it has no route for: the
			// URL is wrong, the object may well exist.
			e.Kind = platform.KindInvalid
			e.Message += " (is the base URL right?)"
		}
	case s == http.StatusUnauthorized:
		e.Kind = platform.KindUnauthorized
	case s == http.StatusForbidden:
		e.Kind = platform.KindForbidden
	case s == http.StatusTooManyRequests:
		e.Kind = platform.KindRateLimited
		e.RetryAfter = resp.RetryAfter()
	case s == http.StatusConflict:
		e.Kind = platform.KindConflict
	case strings.HasPrefix(op, http.MethodDelete+" ") && s < 500 && inUse(e.Message):
		// An instance used by a process flow cannot be deleted.
		e.Kind = platform.KindConflict
	case s >= 500:
		e.Kind = platform.KindTransient
		e.Ambiguous = transport.IsWrite(op)
		if resp.Attempts > 1 {
			e.Message = strings.TrimPrefix(e.Message+fmt.Sprintf("; gave up after %d attempts", resp.Attempts), "; ")
		}
	default:
		e.Kind = platform.KindInvalid
		if len(body.Errors) > 0 {
			e.Fields = body.Errors
			if sum := fieldSummary(body.Errors); e.Message == "" {
				e.Message = sum
			} else {
				e.Message += " (" + sum + ")"
			}
		}
	}
	return e
}

func inUse(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "in use") || strings.Contains(m, "process flow") || strings.Contains(m, "used by")
}

func fieldSummary(errs map[string][]string) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(errs[k], " "))
	}
	return strings.Join(parts, "; ")
}
