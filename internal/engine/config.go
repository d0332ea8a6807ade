package engine

import (
	"github.com/syncd/syncd/internal/platform"
	"github.com/syncd/syncd/internal/platform/registry"
	"github.com/syncd/syncd/internal/platform/transport"
	"github.com/syncd/syncd/internal/syncd"
)

// Config is how to reach the platforms (SPEC §5 configuration).
type Config = platform.Config

// Providers builds a client for every platform that is configured (see
// registry.Providers).
func Providers(cfg Config) (map[syncd.Kind]platform.Provider, error) {
	return registry.Providers(cfg)
}

// Transports returns the HTTP layer of every configured platform client,
// by platform name, for pacing estimates (ETA, Allowance).
func (e *Engine) Transports() map[string]*transport.Client {
	out := map[string]*transport.Client{}
	for _, pl := range registry.All() {
		if p, ok := e.Providers[pl.Kind()]; ok {
			if t, ok := p.(interface{ Transport() *transport.Client }); ok {
				out[t.Transport().Platform()] = t.Transport()
			}
		}
	}
	return out
}
