package e2e

import (
	"net/http"
	"os"
	"testing"

	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// TestMain gives the tests a data directory of their own (see
// testservices.RunWithDataDir), and http.DefaultClient the retry after a
// config load (see reloads).
func TestMain(m *testing.M) {
	http.DefaultClient.Transport = reloads // the SDKs' client; see reloads
	os.Exit(testservices.RunWithDataDir(m, "llm-router-e2e-data-*"))
}
