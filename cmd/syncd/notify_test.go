package main

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/testenv"
)

// A notification setting that cannot work stops `syncd run` at once with
// what to fix, never quoting the URL (a Slack webhook URL is a credential).
func TestRunRefusesBadNotificationSettings(t *testing.T) {
	e := testenv.New(t, testenv.Options{})
	const token = "T0KEN-in-the-url"
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		wants string
	}{
		{"webhook without a signing secret", map[string]string{"SYNCD_NOTIFY_WEBHOOK": "https://hooks.example/" + token},
			nil, "needs SYNCD_NOTIFY_SECRET"},
		{"second webhook of the list is not a URL", map[string]string{"SYNCD_NOTIFY_WEBHOOK": "https://hooks.example/a,hooks.example/" + token, "SYNCD_NOTIFY_SECRET": "s"},
			nil, "--notify-webhook: not an http(s) URL"},
		{"slack flag not a URL", nil, []string{"--notify-slack", "ftp://hooks.slack.com/services/" + token}, "--notify-slack: not an http(s) URL"},
		{"no database", map[string]string{"SYNCD_DATABASE_URL": "", "SYNCD_NOTIFY_SLACK": "https://hooks.slack.com/services/" + token},
			nil, "need a database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := syncdCmd(t, e, tc.env, append([]string{"run", "--listen", "127.0.0.1:0"}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.wants) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", r.code, r.stderr, tc.wants)
			}
			if strings.Contains(r.stdout+r.stderr, token) {
				t.Errorf("output quotes the URL:\n%s", r.stderr)
			}
		})
	}
}
