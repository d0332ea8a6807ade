package patchworks

import (
	"context"
	"errors"

	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/syncd"
)

// Platform is Patchworks (platform.Platform): PatchworksConnector's rules
// and client. Its emulator is internal/emulator/patchworks.go.
type Platform struct{ Rules }

var _ platform.Platform = Platform{}

// Name is "patchworks".
func (Platform) Name() string { return platformName }

// Title is "Patchworks".
func (Platform) Title() string { return "Patchworks" }

// Setup names Patchworks' settings.
func (Platform) Setup() string {
	return "set SYNCD_PATCHWORKS_URL and SYNCD_PATCHWORKS_TOKEN"
}

// Patchworks' settings, by flag: their values' keys in platform.Values.
const (
	flagURL        = "patchworks-url"
	flagToken      = "patchworks-token"
	flagRPM        = "patchworks-rpm"
	flagQuotaShare = "patchworks-quota-share"
)

// Settings are Patchworks' flags.
func (Platform) Settings() []platform.Setting {
	return []platform.Setting{
		{Flag: flagURL, Env: "SYNCD_PATCHWORKS_URL", Help: "Patchworks base URL (the part before /api/v1); the API key is read from SYNCD_PATCHWORKS_TOKEN."},
		{Flag: flagToken, Env: "SYNCD_PATCHWORKS_TOKEN", Hidden: true, Help: "Patchworks API key (prefer the environment)."},
		{Flag: flagRPM, Env: "SYNCD_PATCHWORKS_RPM", Default: "600", Kind: platform.SettingInt, Rank: 1, Help: "Patchworks requests per minute."},
		{Flag: flagQuotaShare, Env: "SYNCD_PATCHWORKS_QUOTA_SHARE", Default: "0.5", Kind: platform.SettingShare, Rank: 2, Help: "Share of Patchworks' per-minute limit syncd may use (0 < share <= 1)."},
	}
}

// NewProvider builds the client when a URL is set.
func (Platform) NewProvider(cfg platform.Config) (platform.Provider, error) {
	v := cfg.Values(platformName)
	url, token := v.String(flagURL), v.String(flagToken)
	if url == "" {
		return nil, nil
	}
	if token == "" {
		return nil, errors.New("SYNCD_PATCHWORKS_TOKEN is not set")
	}
	c, err := New(Config{
		BaseURL: url, Token: token,
		RequestsPerMinute: v.Int(flagRPM), QuotaShare: v.Float(flagQuotaShare), MaxConcurrency: cfg.Concurrency,
		Timeout: cfg.Timeout, Retry: cfg.Retry, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// EstimateRequests: the preflight and the connector list's pages of 100.
func (Platform) EstimateRequests(specs []map[string]any) int {
	if len(specs) == 0 {
		return 0
	}
	return 1 + (len(specs)+99)/100
}

// CheckBind: any connector may be bound.
func (Platform) CheckBind(*syncd.Desired, syncd.Live) error { return nil }

// ImportScopeHelp: there is no scope.
func (Platform) ImportScopeHelp() string { return "" }

// CheckImportScope: an import reads every connector; there is no scope.
func (Platform) CheckImportScope(string) error { return nil }

// Import reads every connector with its variables (ListAll).
func (Platform) Import(ctx context.Context, p platform.Provider, scope string, _ int) ([]platform.Imported, error) {
	live, err := p.ListAll(ctx, scope)
	if err != nil {
		return nil, err
	}
	out := make([]platform.Imported, len(live))
	for i, l := range live {
		out[i] = platform.Imported{Live: l}
	}
	return out, nil
}
