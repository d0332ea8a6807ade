// Package pgtest gives tests a real PostgreSQL. Database returns the URL of
// a fresh, empty database: on the server named by SYNCD_TEST_DATABASE_URL
// when that is set, otherwise on a throwaway cluster (initdb + postgres from
// the Debian package, run as the postgres user when the test runs as root)
// that is started once per test process and removed when the process ends
// (call Main from TestMain to stop it promptly). StartCluster gives a test a
// private cluster it can stop and start again, for tests about an outage.
// A test that cannot get a database fails; it never skips.
package pgtest
