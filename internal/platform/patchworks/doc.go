// Package patchworks is the client of the Patchworks Core API v1
// connectors endpoints (a connector is an "instance" in the dashboard) and
// syncd's platform.Provider for PatchworksConnector. Each endpoint is one
// method (paginated list with filter/include/sort, create, get, update,
// delete, test); Observe reads the whole list with include=variables at 100
// per page and GETs only RemoteIDs the list did not show. Live specs are
// canonical: ids of other objects as strings, variables as an object keyed
// by key without server ids, secret values as the null the API returns.
// Reads never write; Update and Delete are safe to repeat; Create is not,
// and after an ambiguous failure it looks the connector up by name before
// it posts again. Errors are classified in one place (classify), Laravel's
// field errors kept, and never carry the key or a secret value.
//
// Its rules (rules.go, fields.go) and its place in the registry
// (platform.go) make it a platform.Platform. Its emulator is internal/emulator/patchworks.go.
package patchworks
