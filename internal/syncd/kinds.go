package syncd

// The kinds of the two platforms syncd ships with, by the names their
// tests and fixtures use. The core never uses them (a test in
// internal/platform/registry checks that no file outside the platform
// folders names a platform); each platform's folder declares its kind, and
// a new platform adds nothing here.
const (
	MakeConnection      Kind = "MakeConnection"
	PatchworksConnector Kind = "PatchworksConnector"
)
