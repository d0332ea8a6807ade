// Package pgstore is syncd's connection to PostgreSQL, shared by the audit
// log (internal/audit) and the state store (internal/state): one pool, one
// health flag (a failure either store sees means the audit log spools from
// then on), the mapping of errors to ErrUnavailable, the check of a
// database URL that never quotes it, and the migrations.
//
// The migrations are one embedded sequence (the migrations package) for
// the tables of both stores, applied here: the layer both stand on, so
// that neither owns the other's tables and one `syncd migrate` brings the
// whole schema up to date. Read-only openings never migrate: CheckSchema
// stops them with ErrSchemaBehind.
//
// Error texts begin "audit:", as they did when this code was part of the
// audit package: users and the golden files know them so.
package pgstore
