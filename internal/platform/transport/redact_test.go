package transport

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

func TestRedact(t *testing.T) {
	secrets := []string{"hush-hush"}
	api := &platform.APIError{Platform: "make", Op: "PUT /x", Status: 400, Kind: platform.KindInvalid,
		Message: "bad value hush-hush", Fields: map[string][]string{"v": {"hush-hush is wrong"}}}
	tests := []struct {
		name string
		err  error
		kind platform.ErrorKind
	}{
		{"api error", api, platform.KindInvalid},
		{"wrapped api error", fmt.Errorf("make: set common: %w", api), platform.KindInvalid},
		{"plain", errors.New("x hush-hush"), platform.KindTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.err, secrets)
			if strings.Contains(got.Error(), "hush-hush") {
				t.Fatalf("redacted error still has the secret: %v", got)
			}
			if platform.KindOf(got) != tt.kind {
				t.Fatalf("kind = %v, want %v", platform.KindOf(got), tt.kind)
			}
			var ae *platform.APIError
			if errors.As(got, &ae) {
				for _, m := range ae.Fields {
					if strings.Contains(strings.Join(m, " "), "hush-hush") {
						t.Fatalf("fields keep the secret: %v", ae.Fields)
					}
				}
			}
		})
	}
	if api.Message != "bad value hush-hush" {
		t.Fatal("Redact modified its input")
	}
}

// A platform that echoes the request body puts the secret into its
// message in whatever encoding the body used. Each encoding must be cut
// out, and a secret too short or too ordinary to cut out must take the
// message with it.
func TestRedactEveryEncoding(t *testing.T) {
	const long = `SEC<ti>on&"9/é`
	php := `SEC<ti>on&\"9\/\u00e9`
	encodings := map[string]string{
		"raw":                   long,
		"json go":               `SEC\u003cti\u003eon\u0026\"9/é`,
		"json go upper hex":     `SEC\u003Cti\u003Eon\u0026\"9/é`,
		"json no html":          `SEC<ti>on&\"9/é`,
		"json php":              php,
		"json twice":            `SEC\\u003cti\\u003eon\\u0026\\\"9/é`,
		"url query":             url.QueryEscape(long),
		"url query lower hex":   strings.ToLower(url.QueryEscape(long)),
		"url path":              url.PathEscape(long),
		"base64":                base64.StdEncoding.EncodeToString([]byte(long)),
		"base64 url raw":        base64.RawURLEncoding.EncodeToString([]byte(long)),
		"base64 basic user:pas": base64.StdEncoding.EncodeToString([]byte("client-id:" + long)),
	}
	secrets := []string{long, "client-id:" + long}
	for name, enc := range encodings {
		t.Run(name, func(t *testing.T) {
			api := &platform.APIError{Platform: "make", Op: "PUT /x", Status: 400, Kind: platform.KindInvalid,
				Message: "invalid value: " + enc + " (rejected)", Fields: map[string][]string{"common": {"got " + enc}}}
			for _, err := range []error{api, fmt.Errorf("make: set common: %w", api), errors.New("plain " + enc)} {
				got := Redact(err, secrets)
				text := got.Error()
				var ae *platform.APIError
				if errors.As(got, &ae) {
					text += fmt.Sprint(ae.Fields)
				}
				if strings.Contains(text, enc) {
					t.Fatalf("%q still in %q", enc, text)
				}
				if !strings.Contains(text, syncd.Redacted) {
					t.Fatalf("nothing redacted in %q", text)
				}
			}
		})
	}
}

func TestRedactWithholdsWhatItCannotCut(t *testing.T) {
	tests := []struct {
		name     string
		secret   string
		message  string
		withheld bool
	}{
		{"short secret echoed", "x9", `{"password":"x9"} is invalid`, true},
		{"short secret json-escaped", "<>", `password \u003c\u003e is invalid`, true},
		{"short secret url-encoded", "a&", `password=a%26 is invalid`, true},
		{"numeric secret echoed", "123456", `pin 123456 is invalid`, true},
		{"short secret absent", "x9", `label is required`, false},
		{"long secret is cut, not withheld", "long-secret", `long-secret is invalid`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &platform.APIError{Platform: "patchworks", Op: "POST /api/v1/connectors", Status: 422,
				Kind: platform.KindInvalid, Message: tt.message, Fields: map[string][]string{"variables": {tt.message}}}
			for _, err := range []error{api, fmt.Errorf("patchworks: create: %w", api)} {
				got := Redact(err, []string{tt.secret})
				if platform.KindOf(got) != platform.KindInvalid {
					t.Fatalf("kind lost: %v", got)
				}
				var ae *platform.APIError
				errors.As(got, &ae)
				if tt.withheld {
					if ae.Message != Withheld || ae.Fields != nil || !strings.Contains(got.Error(), Withheld) {
						t.Fatalf("not withheld: %v %v", got, ae.Fields)
					}
					if !strings.Contains(got.Error(), "HTTP 422") {
						t.Fatalf("status lost: %v", got)
					}
				} else if ae.Message == Withheld {
					t.Fatalf("withheld without cause: %v", got)
				}
				if tt.secret == "long-secret" && strings.Contains(got.Error(), tt.secret) {
					t.Fatalf("secret kept: %v", got)
				}
			}
		})
	}
}
