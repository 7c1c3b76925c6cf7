package vendors

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A setting a kind does not use is refused, naming the setting and the kinds
// that do use it; one it uses is taken.
func TestKind_CheckSettings(t *testing.T) {
	set := map[string]func(*Config){
		"api_version":       func(c *Config) { c.APIVersion = "2024-10-21" },
		"region":            func(c *Config) { c.Region = "us-east-1" },
		"access_key_id":     func(c *Config) { c.AccessKeyID = "AKIA" },
		"secret_access_key": func(c *Config) { c.SecretAccessKey = "secret" },
		"session_token":     func(c *Config) { c.SessionToken = "token" },
		"project":           func(c *Config) { c.Project = "proj" },
		"credentials_file":  func(c *Config) { c.CredentialsJSON = []byte(`{}`) },
		"max_tokens":        func(c *Config) { c.DefaultMaxTokens = 100 },
		"api":               func(c *Config) { c.API = "openai" },
	}
	require.Len(t, set, len(settingNames), "every setting is tried")
	users := map[string][]string{
		"api_version": {"azure"}, "region": {"aws", "vertex"}, "access_key_id": {"aws"},
		"secret_access_key": {"aws"}, "session_token": {"aws"}, "project": {"vertex"},
		"credentials_file": {"vertex"}, "max_tokens": {"anthropic", "aws", "vertex"}, "api": {"google"},
	}
	for _, kind := range Kinds() {
		for field, apply := range set {
			uses := false
			for _, k := range users[field] {
				uses = uses || k == kind
			}
			c := Config{ID: "v", Kind: kind, APIKey: testKey, BaseURL: "https://example.com"}
			if kind == "vertex" {
				c.APIKey = ""
			}
			apply(&c)
			cerr := kinds[kind].checkSettings(c)
			if uses {
				assert.Nil(t, cerr, "%s takes %s", kind, field)
				continue
			}
			require.NotNil(t, cerr, "%s refuses %s", kind, field)
			assert.Equal(t, field, cerr.Field)
			assert.Equal(t, `is not used by kind "`+kind+`" (kinds that use it: `+strings.Join(users[field], ", ")+`)`, cerr.Message)
			_, err := New(c)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce, "New refuses %s on %s", field, kind)
			assert.Equal(t, field, ce.Field)
		}
	}

	// vertex authenticates with a service account and refuses a key.
	cerr := kinds["vertex"].checkSettings(Config{Kind: "vertex", APIKey: "k"})
	require.NotNil(t, cerr)
	assert.Equal(t, "api_key", cerr.Field)
}
