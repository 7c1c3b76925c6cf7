package llmrouter_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/stretchr/testify/require"
)

// Every example configuration adapts and provisions (as `caddy validate`
// does), with placeholder credentials in the environment.
func TestExampleConfigsValidate(t *testing.T) {
	for _, env := range []string{"OPENAI_API_KEY", "AZURE_OPENAI_KEY", "AZURE_EU_KEY", "AZURE_US_KEY",
		"DEEPSEEK_API_KEY", "ARK_API_KEY", "ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(env, "example-"+env)
	}
	t.Setenv("AWS_SESSION_TOKEN", "")
	// bcrypt of "hiccup", the example of Caddy's basic_auth docs
	t.Setenv("DASHBOARD_PASSWORD_HASH", "$2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG")
	t.Setenv("VERTEX_PROJECT", "example-project")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", serviceAccountFile(t, "https://oauth2.googleapis.com/token"))

	files, err := filepath.Glob("examples/*/Caddyfile")
	require.NoError(t, err)
	files = append(files, "Caddyfile.example")
	require.GreaterOrEqual(t, len(files), 5)
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			text, err := os.ReadFile(file)
			require.NoError(t, err)
			cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(text, map[string]any{"filename": file})
			require.NoError(t, err)
			var cfg caddy.Config
			require.NoError(t, json.Unmarshal(cfgJSON, &cfg))
			require.NoError(t, caddy.Validate(&cfg))
		})
	}
}

// serviceAccountFile writes a Google service account key with a fresh RSA key
// and the given token endpoint, and returns its path.
func serviceAccountFile(t *testing.T, tokenURI string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	sa, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "example-project",
		"private_key_id": "test-key",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "router@example-project.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      tokenURI,
	})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "service-account.json")
	require.NoError(t, os.WriteFile(path, sa, 0o600))
	return path
}
