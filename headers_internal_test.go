package llmrouter

import (
	"net/http"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/assert"
)

// canonicalHeaderKey is textproto.CanonicalMIMEHeaderKey, names with
// invalid bytes included (both leave those as they are).
func TestCanonicalHeaderKey(t *testing.T) {
	for _, name := range []string{"", "-", "a", "A", "Content-Type", "content-type", "CONTENT-TYPE", "Content-type",
		"X-Llm-Vendor", "X-LLM-Vendor", "x-api-key", "Api-Key", "X--Y", "-x", "X-", "Www-Authenticate",
		"X_Underscore", "x_underscore", "Has Space", "has space", "Ünï", "ünï", "X-Ünï-b", "1-a", "A1b-C2d"} {
		assert.Equal(t, textproto.CanonicalMIMEHeaderKey(name), canonicalHeaderKey(name), "%q", name)
	}
}

func TestHeaderValue(t *testing.T) {
	h := http.Header{}
	h.Add("Authorization", "Bearer a")
	h.Add("Authorization", "Bearer b")
	h["x-raw"] = []string{"set directly"}
	for _, name := range []string{"Authorization", "Api-Key", "X-Raw"} {
		assert.Equal(t, h.Get(name), headerValue(h, name), name)
	}
}
