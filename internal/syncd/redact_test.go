package syncd

import "testing"

func TestScrubText(t *testing.T) {
	tests := []struct {
		name, text string
		secrets    []string
		want       string
	}{
		{"long secret raw", "got hush-hush", []string{"hush-hush"}, "got (sensitive)"},
		{"long secret json-escaped", `got a\u003cb\u003ec`, []string{"a<b>c"}, "got (sensitive)"},
		{"long secret url-encoded", "got a%26b%3Dc", []string{"a&b=c"}, "got (sensitive)"},
		{"short secret present", "got x9 here", []string{"x9"}, Withheld},
		{"numeric secret present", "pin 98765", []string{"98765"}, Withheld},
		{"short secret absent", "nothing here", []string{"x9"}, "nothing here"},
		{"no secrets", "plain", nil, "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScrubText(tt.text, tt.secrets); got != tt.want {
				t.Fatalf("ScrubText(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
