package llmrouter

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream": true, "text/event-stream; charset=utf-8": true, "TEXT/Event-Stream": true,
		" text/event-stream ;x=1": true, "text/event-streams": false, "text/event": false,
		"application/json": false, "": false, "text/event-stream,": false,
	} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		assert.Equal(t, want, isEventStream(h), "%q", ct)
	}
}

func TestSinglePlaceholder(t *testing.T) {
	for tmpl, want := range map[string]string{
		"{http.auth.user.id}": "http.auth.user.id", "{x}": "x",
		"": "", "{}": "", "user-{http.auth.user.id}": "", "{a}{b}": "", "{a:default}": "", "{a\\}": "",
	} {
		name, ok := singlePlaceholder(tmpl)
		assert.Equal(t, want != "", ok, "%q", tmpl)
		assert.Equal(t, want, name, "%q", tmpl)
	}
}
