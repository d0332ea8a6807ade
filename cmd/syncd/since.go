package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// sinceDuration is a duration that also accepts days and weeks, as people
// write ages: 1d, 2w, 1w3d, 1d12h, as well as Go's 90m or 24h.
type sinceDuration time.Duration

func (d *sinceDuration) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	v, err := parseSince(s)
	if err != nil {
		return err
	}
	*d = sinceDuration(v)
	return nil
}

// parseSince reads leading week and day counts, then a Go duration.
func parseSince(s string) (time.Duration, error) {
	bad := fmt.Errorf("duration %q: want e.g. 30m, 24h, 1d, 2w or 1d12h", s)
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, bad
	}
	var total time.Duration
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i >= len(rest) || rest[i:i+1] != unit.suffix {
			continue
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 100000 {
			return 0, bad
		}
		total += time.Duration(n) * unit.d
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q: want a positive duration", s)
	}
	return total, nil
}
