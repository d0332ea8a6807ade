package emulator

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A fixed window admits its limit, refuses until it ends (Retry-After:
// the seconds left), then opens anew at the next request; the headers
// say so as each knob value promises.
func TestRateWindowAndHeaders(t *testing.T) {
	type hdr struct{ Limit, Remaining, Reset, RetryAfter string }
	tests := []struct {
		name    string
		headers string
		// answers of requests 1..4 at the window's start, then one after
		// 45 s, then one after 60 s
		want []hdr
	}{
		{"no headers", RateHeadersNone, []hdr{{}, {}, {}, {RetryAfter: "60"}, {RetryAfter: "15"}, {}}},
		{"full", RateHeadersFull, []hdr{
			{"3", "2", "epoch+60", ""}, {"3", "1", "epoch+60", ""}, {"3", "0", "epoch+60", ""},
			{"3", "0", "epoch+60", "60"}, {"3", "0", "epoch+60", "15"}, {"3", "2", "epoch+120", ""}}},
		{"laravel", RateHeadersLaravel, []hdr{
			{"3", "2", "", ""}, {"3", "1", "", ""}, {"3", "0", "", ""},
			{"3", "0", "epoch+60", "60"}, {"3", "0", "epoch+60", "15"}, {"3", "2", "", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Knobs: Knobs{RateLimit: 3, RateWindow: time.Minute, RateHeaders: tt.headers}})
			start := e.clock.Now().Unix()
			var got []hdr
			var statuses []int
			get := func() {
				r := e.mk(t, "GET", "/sdk/apps/a/connections", "")
				statuses = append(statuses, r.status)
				reset := r.header.Get("X-RateLimit-Reset")
				if n, err := strconv.ParseInt(reset, 10, 64); err == nil {
					reset = "epoch+" + strconv.FormatInt(n-start, 10)
				}
				got = append(got, hdr{r.header.Get("X-RateLimit-Limit"), r.header.Get("X-RateLimit-Remaining"), reset, r.header.Get("Retry-After")})
			}
			for range 4 {
				get()
			}
			e.clock.Advance(45 * time.Second)
			get()
			e.clock.Advance(15 * time.Second)
			get()
			if diff := cmp.Diff([]int{200, 200, 200, 429, 429, 200}, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateKnobsOnTheControlAPI(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.control(t, "POST", "knobs", `{"rate_limit":5,"rate_window":"1m","rate_headers":"laravel"}`); r.status != http.StatusOK {
		t.Fatalf("knobs: %d %s", r.status, r.body)
	}
	if k := e.srv.Knobs(); k.RateWindow != time.Minute || k.RateHeaders != RateHeadersLaravel {
		t.Errorf("knobs = %+v", k)
	}
	if r := e.control(t, "POST", "knobs", `{"rate_headers":"sometimes"}`); r.status != http.StatusBadRequest {
		t.Errorf("an unknown rate_headers value answered %d", r.status)
	}
}

func TestPageLinksKnobOnTheControlAPI(t *testing.T) {
	e := newEnv(t, Options{})
	if r := e.control(t, "POST", "knobs", `{"page_links":"all"}`); r.status != http.StatusOK || e.srv.Knobs().PageLinks != PageLinksAll {
		t.Fatalf("knobs: %d %s, page links %q", r.status, r.body, e.srv.Knobs().PageLinks)
	}
	if r := e.control(t, "POST", "knobs", `{"page_links":"some"}`); r.status != http.StatusBadRequest {
		t.Errorf("an unknown page_links value answered %d", r.status)
	}
	if r := e.control(t, "POST", "knobs", `{"page_links":""}`); r.status != http.StatusOK || e.srv.Knobs().PageLinks != PageLinksWindow {
		t.Errorf("back to the window: %d, %q", r.status, e.srv.Knobs().PageLinks)
	}
}
