package make

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// Tests of promises of errors.go that surviving or uncovered mutants
// showed no test defended (issue 18).

// TestClassifyMapsEachAnswerToOneKind: only a 2xx answer is success; only a
// 404 that is an API answer (not an HTML page) is "not found"; a lock
// refusal is a conflict; a 5xx of a write is ambiguous; a message says how
// many attempts were given up on only after more than one.
func TestClassifyMapsEachAnswerToOneKind(t *testing.T) {
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	for _, tc := range []struct {
		name     string
		op       string
		status   int
		header   http.Header
		body     string
		attempts int
		ok       bool
		kind     platform.ErrorKind
		amb      bool
		msg      string // "" = any; else the exact message
	}{
		{name: "200", status: 200, ok: true},
		{name: "299", status: 299, ok: true},
		{name: "300 is a redirect, not success", status: 300, kind: platform.KindInvalid,
			msg: "the server redirects elsewhere; syncd does not follow redirects"},
		{name: "308 write is a redirect, not ambiguous", op: "POST /x", status: 308, kind: platform.KindInvalid,
			msg: "the server redirects elsewhere; syncd does not follow redirects, so nothing was done"},
		{name: "307 write was not done", op: "PUT /x", status: 307, kind: platform.KindInvalid,
			msg: "the server redirects elsewhere; syncd does not follow redirects, so nothing was done"},
		{name: "303 write may have been done", op: "POST /x", status: 303, kind: platform.KindInvalid, amb: true,
			msg: "the server redirects elsewhere; syncd does not follow redirects; the write may have been done"},
		{name: "302 delete may have been done", op: "DELETE /x", status: 302, kind: platform.KindInvalid, amb: true,
			msg: "the server redirects elsewhere; syncd does not follow redirects; the write may have been done"},
		{name: "199 is not success", status: 199, kind: platform.KindInvalid},
		{name: "404 API answer", status: 404, body: `{"message":"Connection not found"}`, kind: platform.KindNotFound, msg: "Connection not found"},
		{name: "404 HTML page", status: 404, header: html, body: `<html>nope</html>`, kind: platform.KindInvalid,
			msg: "an HTML page, not an API answer: is the base URL right?"},
		{name: "401", status: 401, kind: platform.KindUnauthorized},
		{name: "403 locked", status: 403, body: `{"message":"Common data are locked"}`, kind: platform.KindConflict,
			msg: "blocked: the data is locked (approved app): Common data are locked"},
		{name: "400 locked", status: 400, body: `{"message":"Data LOCKED"}`, kind: platform.KindConflict,
			msg: "blocked: the data is locked (approved app): Data LOCKED"},
		{name: "403", status: 403, body: `{"message":"Forbidden"}`, kind: platform.KindForbidden, msg: "Forbidden"},
		{name: "409 locked stays a conflict", status: 409, body: `{"message":"locked"}`, kind: platform.KindConflict, msg: "locked"},
		{name: "422 locked is invalid", status: 422, body: `{"message":"locked"}`, kind: platform.KindInvalid, msg: "locked"},
		{name: "429", status: 429, kind: platform.KindRateLimited},
		{name: "409", status: 409, kind: platform.KindConflict},
		{name: "499 is invalid", status: 499, kind: platform.KindInvalid},
		{name: "500 read", status: 500, body: `{"message":"boom"}`, attempts: 1, kind: platform.KindTransient, msg: "boom"},
		{name: "500 read retried", status: 500, body: `{"message":"boom"}`, attempts: 3, kind: platform.KindTransient,
			msg: "boom; gave up after 3 attempts"},
		{name: "500 write", op: "PUT /x", status: 500, attempts: 1, kind: platform.KindTransient, amb: true, msg: ""},
		{name: "503 write retried", op: "POST /x", status: 503, attempts: 2, kind: platform.KindTransient, amb: true,
			msg: "gave up after 2 attempts"},
		{name: "400", status: 400, body: `{"message":"Invalid connection type"}`, kind: platform.KindInvalid, msg: "Invalid connection type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := tc.op
			if op == "" {
				op = "GET /x"
			}
			h := tc.header
			if h == nil {
				h = http.Header{"Content-Type": {"application/json"}}
			}
			err := classify(op, &transport.Response{Status: tc.status, Header: h, Body: []byte(tc.body), Attempts: tc.attempts})
			if tc.ok {
				if err != nil {
					t.Fatalf("classify = %v, want success", err)
				}
				return
			}
			var e *platform.APIError
			if !errors.As(err, &e) {
				t.Fatalf("classify = %v, want an APIError", err)
			}
			if e.Kind != tc.kind || e.Ambiguous != tc.amb {
				t.Fatalf("kind %v, ambiguous %v; want %v, %v", e.Kind, e.Ambiguous, tc.kind, tc.amb)
			}
			if tc.msg != "" && e.Message != tc.msg {
				t.Fatalf("message %q, want %q", e.Message, tc.msg)
			}
			if tc.msg == "" && strings.Contains(e.Message, "gave up") {
				t.Fatalf("message %q tells of attempts given up after %d", e.Message, tc.attempts)
			}
		})
	}
}

// TestErrorMessageReadsEveryDetailForm: Make's "detail" is a string or a
// list of strings and {"message"} objects; each reaches the message.
func TestErrorMessageReadsEveryDetailForm(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"message":"Bad","detail":"one"}`, "Bad: one"},
		{`{"message":"Bad","detail":["one", {"message":"two"}, 3]}`, "Bad: one: two"},
		{`{"detail":["only"]}`, "only"},
	} {
		if got := errorMessage([]byte(tc.body)); got != tc.want {
			t.Errorf("errorMessage(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
