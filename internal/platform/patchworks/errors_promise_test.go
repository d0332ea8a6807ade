package patchworks

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/transport"
)

// TestClassifyMapsEachAnswerToOneKind: only a 2xx answer is success; only a
// 404 that is an API answer for an object (not an HTML page, not Laravel's
// "no route") is "not found"; a refused delete of a connector in use is a
// conflict; a 5xx of a write is ambiguous; a message tells how many
// attempts were given up on only after more than one; a validation answer
// names its fields.
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
		msg      string
		fields   map[string][]string
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
		{name: "404 API answer", status: 404, body: `{"message":"No query results"}`, kind: platform.KindNotFound, msg: "No query results"},
		{name: "404 HTML page", status: 404, header: html, body: `<html/>`, kind: platform.KindInvalid,
			msg: "an HTML page, not an API answer: is the base URL right?"},
		{name: "404 no route", status: 404, body: `{"message":"The route api/v1/x could not be found."}`, kind: platform.KindInvalid,
			msg: "The route api/v1/x could not be found. (is the base URL right?)"},
		{name: "401", status: 401, body: `{"message":"Unauthenticated."}`, kind: platform.KindUnauthorized, msg: "Unauthenticated."},
		{name: "403", status: 403, kind: platform.KindForbidden},
		{name: "429", status: 429, kind: platform.KindRateLimited},
		{name: "409", status: 409, kind: platform.KindConflict},
		{name: "delete in use", op: "DELETE /connectors/1", status: 400, body: `{"message":"Connector is used by a process flow"}`,
			kind: platform.KindConflict, msg: "Connector is used by a process flow"},
		{name: "delete in use 499", op: "DELETE /connectors/1", status: 499, body: `{"message":"in use"}`, kind: platform.KindConflict, msg: "in use"},
		{name: "delete 500 in use is transient", op: "DELETE /connectors/1", status: 500, body: `{"message":"in use"}`, attempts: 1,
			kind: platform.KindTransient, amb: true, msg: "in use"},
		{name: "put in use is invalid", op: "PUT /connectors/1", status: 400, body: `{"message":"in use"}`, kind: platform.KindInvalid, msg: "in use"},
		{name: "delete refused otherwise", op: "DELETE /connectors/1", status: 400, body: `{"message":"nope"}`, kind: platform.KindInvalid, msg: "nope"},
		{name: "500 read", status: 500, body: `{"message":"boom"}`, attempts: 1, kind: platform.KindTransient, msg: "boom"},
		{name: "499 read is invalid", status: 499, body: `{"message":"odd"}`, kind: platform.KindInvalid, msg: "odd"},
		{name: "502 read retried", status: 502, body: `{"message":"boom"}`, attempts: 3, kind: platform.KindTransient,
			msg: "boom; gave up after 3 attempts"},
		{name: "503 write retried", op: "POST /connectors", status: 503, attempts: 2, kind: platform.KindTransient, amb: true,
			msg: "gave up after 2 attempts"},
		{name: "422 with message", op: "POST /connectors", status: 422,
			body: `{"message":"The given data was invalid.","errors":{"name":["required"],"a":["x","y"]}}`, kind: platform.KindInvalid,
			msg: "The given data was invalid. (a: x y; name: required)", fields: map[string][]string{"name": {"required"}, "a": {"x", "y"}}},
		{name: "422 without message", op: "POST /connectors", status: 422, body: `{"errors":{"name":["required"]}}`,
			kind: platform.KindInvalid, msg: "name: required", fields: map[string][]string{"name": {"required"}}},
		{name: "422 without fields", op: "POST /connectors", status: 422, body: `{"message":"bad"}`, kind: platform.KindInvalid, msg: "bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := tc.op
			if op == "" {
				op = "GET /connectors/1"
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
			if e.Message != tc.msg {
				t.Fatalf("message %q, want %q", e.Message, tc.msg)
			}
			if diff := cmp.Diff(tc.fields, e.Fields); diff != "" {
				t.Fatalf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
