package patchworks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/observe"
	"github.com/syncd/syncd/internal/observe/transport"
)

// classify is the one place where a Patchworks response becomes an error:
// nil for a 2xx, a context error when the caller gave up, an
// *observe.APIError otherwise. Only a 404 that is an API answer (not an
// HTML page from a proxy or a wrong base URL) is KindNotFound.
func classify(op string, resp *transport.Response) error {
	if resp.Status == 0 {
		return resp.NoResponse(platform, op)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		return nil
	}
	var body struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	_ = json.Unmarshal(resp.Body, &body) // a body of another shape leaves the message empty, never echoed
	e := &observe.APIError{Platform: platform, Op: op, Status: resp.Status, Message: strings.TrimSpace(body.Message)}
	switch s := resp.Status; {
	case s == http.StatusNotFound:
		e.Kind = observe.KindNotFound
		switch {
		case strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/html"):
			e.Kind = observe.KindInvalid
			e.Message = "an HTML page, not an API answer: is the base URL right?"
		case strings.HasPrefix(e.Message, "The route "):
			// Laravel's answer for a path it has no route for: the
			// URL is wrong, the object may well exist.
			e.Kind = observe.KindInvalid
			e.Message += " (is the base URL right?)"
		}
	case s == http.StatusUnauthorized:
		e.Kind = observe.KindUnauthorized
	case s == http.StatusForbidden:
		e.Kind = observe.KindForbidden
	case s == http.StatusTooManyRequests:
		e.Kind = observe.KindRateLimited
		e.RetryAfter = resp.RetryAfter()
	case s == http.StatusConflict:
		e.Kind = observe.KindConflict
	case strings.HasPrefix(op, http.MethodDelete+" ") && s < 500 && inUse(e.Message):
		// An instance used by a process flow cannot be deleted.
		e.Kind = observe.KindConflict
	case s >= 500:
		e.Kind = observe.KindTransient
		e.Ambiguous = transport.IsWrite(op)
		if resp.Attempts > 1 {
			e.Message = strings.TrimPrefix(e.Message+fmt.Sprintf("; gave up after %d attempts", resp.Attempts), "; ")
		}
	default:
		e.Kind = observe.KindInvalid
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
