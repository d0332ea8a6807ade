package make

import (
	"errors"
	"fmt"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Platform is Make (platform.Platform): MakeConnection's rules and client.
// Its emulator is internal/emulator/make.go.
type Platform struct{ Rules }

var _ platform.Platform = Platform{}

// Name is "make".
func (Platform) Name() string { return platformName }

// Title is "Make".
func (Platform) Title() string { return "Make" }

// Setup names Make's settings.
func (Platform) Setup() string {
	return "set SYNCD_MAKE_URL (or SYNCD_MAKE_ZONE) and SYNCD_MAKE_TOKEN"
}

// CheckBind refuses a connection of another app than spec.app.
func (Platform) CheckBind(d *syncd.Desired, l syncd.Live) error {
	app, _ := d.Spec["app"].(string)
	if got, _ := l.Spec["app"].(string); got != app {
		return fmt.Errorf("%s %s is not a connection of the app %s (spec.app of %s)", d.Key.Kind, l.RemoteID, app, d.Key)
	}
	return nil
}

// EstimateRequests: the preflight, one list per app, and per connection
// each declared section, common data and, when declared, the connected
// system name.
func (Platform) EstimateRequests(specs []map[string]any) int {
	n := 0
	apps := map[string]bool{}
	for _, spec := range specs {
		if app, _ := spec["app"].(string); !apps[app] {
			apps[app] = true
			n++
		}
		secs, _ := spec["sections"].(map[string]any)
		n += len(secs)
		if _, ok := spec["common"]; ok {
			n++
		}
		if _, ok := spec["connectedSystemName"]; ok {
			n++
		}
	}
	if len(apps) > 0 {
		n++ // preflight
	}
	return n
}

// Make's settings, by flag: their values' keys in platform.Values.
const (
	flagURL        = "make-url"
	flagZone       = "make-zone"
	flagToken      = "make-token"
	flagRPM        = "make-rpm"
	flagQuotaShare = "make-quota-share"
)

// Settings are Make's flags.
func (Platform) Settings() []platform.Setting {
	return []platform.Setting{
		{Flag: flagURL, Env: "SYNCD_MAKE_URL", Help: "Make base URL including /api/v2; the API token is read from SYNCD_MAKE_TOKEN."},
		{Flag: flagZone, Env: "SYNCD_MAKE_ZONE", Help: "Make zone (eu1, eu2, us1, us2, eu1.celonis, us1.celonis) instead of --make-url; token in SYNCD_MAKE_TOKEN."},
		{Flag: flagToken, Env: "SYNCD_MAKE_TOKEN", Hidden: true, Help: "Make API token (prefer the environment)."},
		{Flag: flagRPM, Env: "SYNCD_MAKE_RPM", Default: "60", Kind: platform.SettingInt, Rank: 1, Help: "Make requests per minute (60 is safe for the smallest plan)."},
		{Flag: flagQuotaShare, Env: "SYNCD_MAKE_QUOTA_SHARE", Default: "0.5", Kind: platform.SettingShare, Rank: 2, Help: "Share of Make's per-minute limit syncd may use (0 < share <= 1); the rest is left to the organisation's scenarios."},
	}
}

// NewProvider builds the client when a URL or zone is set.
func (Platform) NewProvider(cfg platform.Config) (platform.Provider, error) {
	v := cfg.Values(platformName)
	url, zone, token := v.String(flagURL), v.String(flagZone), v.String(flagToken)
	if url == "" && zone == "" {
		return nil, nil
	}
	if token == "" {
		return nil, errors.New("SYNCD_MAKE_TOKEN is not set")
	}
	c, err := New(Config{
		BaseURL: url, Zone: zone, Token: token,
		RequestsPerMinute: v.Int(flagRPM), QuotaShare: v.Float(flagQuotaShare), MaxConcurrency: cfg.Concurrency,
		Timeout: cfg.Timeout, Retry: cfg.Retry, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
