package e2e

import (
	"os"
	"testing"

	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// TestMain gives the tests a data directory of their own (see
// testservices.RunWithDataDir).
func TestMain(m *testing.M) {
	os.Exit(testservices.RunWithDataDir(m, "llm-router-e2e-data-*"))
}
