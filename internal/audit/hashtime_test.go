package audit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The hash of a row written by Record is checked by verify against the
// time formatted by the standard library: the two must agree to the byte.
func TestHashTimeIsTheLayoutsForm(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 6, 45, 9, 123456789, time.UTC),
		time.Date(2026, 3, 1, 23, 59, 59, 999999999, time.FixedZone("east", 5*3600+1800)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 1000, time.UTC),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(400*365*86400)-100*365*86400, r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(50000)-25000)))
	}
	for _, at := range times {
		want := at.UTC().Format(hashTimeLayout)
		if got := string(appendHashTime([]byte("x"), at)); got != "x"+want {
			t.Fatalf("appendHashTime(%v) = %q, want %q", at, got, "x"+want)
		}
	}
}
