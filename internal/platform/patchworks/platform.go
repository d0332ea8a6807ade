package patchworks

import (
	"errors"

	"github.com/syncd/syncd/internal/platform"
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

// NewProvider builds the client when a URL is set.
func (Platform) NewProvider(cfg platform.Config) (platform.Provider, error) {
	if cfg.PatchworksURL == "" {
		return nil, nil
	}
	if cfg.PatchworksToken == "" {
		return nil, errors.New("SYNCD_PATCHWORKS_TOKEN is not set")
	}
	c, err := New(Config{
		BaseURL: cfg.PatchworksURL, Token: cfg.PatchworksToken,
		RequestsPerMinute: cfg.PatchworksRPM, QuotaShare: cfg.PatchworksQuotaShare, MaxConcurrency: cfg.Concurrency,
		Timeout: cfg.Timeout, Retry: cfg.Retry, HTTPClient: cfg.HTTPClient, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
