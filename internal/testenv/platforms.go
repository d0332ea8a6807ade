package testenv

import (
	"github.com/syncd/syncd/internal/emulator"
	"github.com/syncd/syncd/internal/platform"
)

// emulatorSettings are the settings values that point each shipped
// platform's client at the emulator serving on url, at rpm requests per
// minute: the one place the test stack names a platform (a new platform
// with an emulator adds its line here).
func emulatorSettings(url string, rpm int) map[string]platform.Values {
	return map[string]platform.Values{
		"make":       {"make-url": url + "/api/v2", "make-token": emulator.DefaultMakeToken, "make-rpm": rpm},
		"patchworks": {"patchworks-url": url, "patchworks-token": emulator.DefaultPatchworksToken, "patchworks-rpm": rpm},
	}
}
