// Package make is the client of Make's Web API v2 "SDK Apps >
// Connections" and syncd's platform.Provider for MakeConnection. Each
// endpoint is one method (list, create, get, update, delete, get/set of the
// six JSONC sections, get/set of common data, recreate); the Provider
// methods combine them with the fewest requests: Observe lists each app
// once and then reads only the sections and common data that the
// manifests declare, for the connections they match. Sections are compared
// by parsed value but written as the manifest's own JSONC text so comments
// survive. Reads never write; Update and Delete are safe to repeat; Create
// is not, and after an ambiguous failure it looks the connection up by app,
// label and type before it posts again. Errors are classified in one place
// (classify) and never carry a token or a secret value.
//
// Its rules (rules.go) and its place in the registry (platform.go) make it
// a platform.Platform. Its emulator is internal/emulator/make.go.
package make
