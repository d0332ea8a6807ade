package pgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// EnvBin names PostgreSQL's bin directory (initdb, postgres, pg_dump). When
// it is unset, BinDir asks pg_config and then takes the newest
// /usr/lib/postgresql/*/bin; scripts/with-postgres finds the same directory
// the same way and exports it.
const EnvBin = "PGBIN"

var (
	binOnce sync.Once
	binDir  string
)

// BinDir is the directory of the PostgreSQL server binaries every test uses.
func BinDir() string {
	binOnce.Do(func() {
		globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		binDir = findBinDir(os.Getenv(EnvBin), pgConfigBinDir, globbed, hasInitdb)
	})
	return binDir
}

// Bin is the path of one PostgreSQL program, e.g. Bin("pg_dump").
func Bin(name string) string { return filepath.Join(BinDir(), name) }

func pgConfigBinDir() (string, error) {
	out, err := exec.Command("pg_config", "--bindir").Output()
	return strings.TrimSpace(string(out)), err
}

func hasInitdb(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "initdb"))
	return err == nil
}

// findBinDir chooses the bin directory: the explicit one when set (even if
// it is wrong, so that the error names it), else pg_config's when it holds
// a server (client-only installs have pg_config without initdb), else the
// candidate with the highest version, else the newest candidate's path for
// the error message.
func findBinDir(explicit string, pgConfig func() (string, error), candidates []string, server func(string) bool) string {
	if explicit != "" {
		return explicit
	}
	if dir, err := pgConfig(); err == nil && dir != "" && server(dir) {
		return dir
	}
	sorted := append([]string(nil), candidates...)
	sort.SliceStable(sorted, func(i, j int) bool { return versionLess(sorted[j], sorted[i]) })
	for _, dir := range sorted {
		if server(dir) {
			return dir
		}
	}
	if len(sorted) > 0 {
		return sorted[0]
	}
	return "/usr/lib/postgresql/bin"
}

// versionLess orders /usr/lib/postgresql/<version>/bin by version number,
// so that 9.6 < 10 < 15 < 16.
func versionLess(a, b string) bool {
	va, vb := versionOf(a), versionOf(b)
	for i := 0; i < len(va) && i < len(vb); i++ {
		if va[i] != vb[i] {
			return va[i] < vb[i]
		}
	}
	if len(va) != len(vb) {
		return len(va) < len(vb)
	}
	return a < b
}

func versionOf(dir string) []int {
	var v []int
	for _, part := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return v
		}
		v = append(v, n)
	}
	return v
}
