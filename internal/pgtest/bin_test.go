package pgtest

import (
	"errors"
	"testing"
)

func TestFindBinDir(t *testing.T) {
	servers := map[string]bool{
		"/usr/lib/postgresql/9.6/bin": true,
		"/usr/lib/postgresql/15/bin":  true,
		"/usr/lib/postgresql/16/bin":  true,
		"/opt/pg/bin":                 true,
	}
	server := func(dir string) bool { return servers[dir] }
	pgConfig := func(dir string) func() (string, error) {
		return func() (string, error) { return dir, nil }
	}
	noPgConfig := func() (string, error) { return "", errors.New("pg_config: not found") }
	all := []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/16/bin"}
	tests := []struct {
		name       string
		explicit   string
		pgConfig   func() (string, error)
		candidates []string
		want       string
	}{
		{"explicit wins even when wrong", "/nowhere", pgConfig("/opt/pg/bin"), all, "/nowhere"},
		{"pg_config", "", pgConfig("/opt/pg/bin"), all, "/opt/pg/bin"},
		{"pg_config without a server", "", pgConfig("/usr/bin"), all, "/usr/lib/postgresql/16/bin"},
		{"newest by version, not by string", "", noPgConfig, all, "/usr/lib/postgresql/16/bin"},
		{"9.6 below 15", "", noPgConfig, []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin"}, "/usr/lib/postgresql/15/bin"},
		{"skips a client-only newest", "", noPgConfig, []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/15/bin"}, "/usr/lib/postgresql/15/bin"},
		{"nothing with a server names the newest", "", noPgConfig, []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/12/bin"}, "/usr/lib/postgresql/17/bin"},
		{"nothing at all", "", noPgConfig, nil, "/usr/lib/postgresql/bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findBinDir(tt.explicit, tt.pgConfig, tt.candidates, server); got != tt.want {
				t.Errorf("findBinDir = %q, want %q", got, tt.want)
			}
		})
	}
}
