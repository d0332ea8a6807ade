package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
)

// withShares is platformFlags as parsed with these quota shares (and every
// other setting at its zero value).
func withShares(mk, pw float64) platformFlags {
	p := platformFlags{Platforms: kong.Plugins{settingsPlugin()}}
	rv := reflect.ValueOf(p.Platforms[0]).Elem()
	for i, s := range registry.Settings() {
		switch s.Flag {
		case "make-quota-share":
			rv.Field(i).SetFloat(mk)
		case "patchworks-quota-share":
			rv.Field(i).SetFloat(pw)
		}
	}
	return p
}

func TestQuotaShareFlags(t *testing.T) {
	tests := []struct {
		name     string
		make, pw float64
		wantErr  string
	}{
		{"defaults", 0.5, 0.5, ""},
		{"all of it", 1, 1, ""},
		{"a little", 0.01, 0.2, ""},
		{"zero", 0, 0.5, "--make-quota-share 0"},
		{"over one", 0.5, 1.5, "--patchworks-quota-share 1.5"},
		{"negative", -0.1, 0.5, "--make-quota-share -0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := withShares(tt.make, tt.pw).Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
			if tt.wantErr == "" {
				cfg := withShares(tt.make, tt.pw).config(nil)
				mk, pw := cfg.Values("make").Float("make-quota-share"), cfg.Values("patchworks").Float("patchworks-quota-share")
				if mk != tt.make || pw != tt.pw {
					t.Errorf("engine config shares = %v, %v; want %v, %v", mk, pw, tt.make, tt.pw)
				}
			}
		})
	}
}

// TestEverySettingReachesItsPlatform: each flag's parsed value lands in
// the engine config under its platform's name and its flag, where that
// platform's NewProvider reads it, and nowhere else.
func TestEverySettingReachesItsPlatform(t *testing.T) {
	p := platformFlags{Platforms: kong.Plugins{settingsPlugin()}, Concurrency: 3}
	rv := reflect.ValueOf(p.Platforms[0]).Elem()
	want := map[string]platform.Values{}
	for i, s := range registry.Settings() {
		var v any
		switch s.Kind {
		case platform.SettingInt:
			v = 100 + i
		case platform.SettingShare:
			v = float64(i+1) / 100
		default:
			v = "value-" + s.Flag
		}
		rv.Field(i).Set(reflect.ValueOf(v))
		if want[s.Platform] == nil {
			want[s.Platform] = platform.Values{}
		}
		want[s.Platform][s.Flag] = v
	}
	cfg := p.config(nil)
	if diff := cmp.Diff(want, cfg.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if cfg.Concurrency != 3 {
		t.Errorf("concurrency = %d, want 3", cfg.Concurrency)
	}
}
