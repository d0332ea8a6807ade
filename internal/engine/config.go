package engine

import (
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/syncd"
)

// Config is how to reach the platforms (SPEC §5 configuration).
type Config = platform.Config

// Providers builds a client for every platform that is configured (see
// registry.Providers).
func Providers(cfg Config) (map[syncd.Kind]platform.Provider, error) {
	return registry.Providers(cfg)
}
