// Package state is syncd's state store in PostgreSQL: the inventory of the
// remote objects syncd owns (with the keyed hashes of their write-only
// values), the intents journal of creates, the settings row that keeps the
// HMAC key, and the inventory admin of `syncd inventory` (list, forget,
// bind), whose changes it records through the audit log's Recorder. It
// shares one connection and one health flag with the audit log
// (pgstore.DB): when the database is down its methods return an error
// wrapping ErrUnavailable, and the audit log spools from then on. It never
// sees secret values: hashes arrive keyed. Its error texts begin "audit:",
// as they did when this store was part of the audit package: users and the
// golden files know them so.
package state
