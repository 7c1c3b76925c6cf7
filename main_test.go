package llmrouter

import (
	"os"
	"testing"
)

// TestMain gives the tests a data directory of their own, so that the
// default ledger (SQLite under Caddy's data directory) of every config they
// load never touches the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llm-router-test-data-*")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
