package patchworks

// The connector fields, by what the API does with them. This is the one
// list the client (what an update sends) and the comparison rules (what a
// difference means, rules.go) both read.
//
// Source: Patchworks Core API v1 reference, "Create a connector" and
// "Update a connector" validation rules (../shared/seeds, API-NOTES,
// "Checked against public sources"). The update rules list name,
// authentication_implementation_id, type, timezone, date_format,
// rate_limit_unit, rate_limit_duration and connection_pool_id; Laravel
// drops any other field of an update without an error.
var (
	// updatableFields may be sent in an update (PUT), besides
	// variables.
	updatableFields = []string{
		"name", "authentication_implementation_id", "type", "timezone", "date_format",
		"rate_limit_unit", "rate_limit_duration", "connection_pool_id",
	}
	// createOnlyFields are accepted by create only: changing one
	// of them means a new connector (a replace).
	createOnlyFields = []string{"certificate_id", "session_id", "platform_app_key"}
	// unreadableFields are not returned by the API (ASSUMED:
	// the examples do not show them), so they cannot be compared with the
	// live object.
	unreadableFields = []string{"session_id", "platform_app_key"}
)
