// Package migrations holds syncd's SQL migrations, embedded into the binary
// and applied in order by internal/pgstore (with jackc/tern: files are named
// NNN_name.sql and pass through text/template, so a literal "{{" must be
// written {{"{{"}}). A migration is never edited once released; a change is
// a new file.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
