package testservices

import (
	"os"
	"testing"
)

// RunWithDataDir runs m's tests (from TestMain) with XDG_DATA_HOME set to a
// new temporary directory, named after pattern as in os.MkdirTemp, removes
// it, and returns m.Run's exit code, for os.Exit.
//
// It gives the test binary a Caddy data directory of its own, so that the
// default ledger (SQLite under Caddy's data directory) of every config the
// tests load never touches the user's.
func RunWithDataDir(m *testing.M, pattern string) int {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Setenv("XDG_DATA_HOME", dir); err != nil {
		panic(err)
	}
	return m.Run()
}
