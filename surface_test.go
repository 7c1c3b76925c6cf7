package llmrouter

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/vendors"
)

// The OpenAI endpoints, Responses included, answer the router's own errors
// in OpenAI's error object.
func TestSurfaceOf(t *testing.T) {
	for _, e := range []vendors.Endpoint{vendors.ChatCompletions, vendors.Completions, vendors.Embeddings, vendors.Responses} {
		rec := httptest.NewRecorder()
		assert.NoError(t, surfaceOf(e).writeMethodNotAllowed(rec, "POST"))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
		assert.Equal(t, "POST", rec.Header().Get("Allow"))
		assert.JSONEq(t, `{"error":{"message":"this endpoint only accepts POST requests","type":"invalid_request_error","param":null,"code":"method_not_allowed"}}`,
			rec.Body.String(), e.String())
	}
}
