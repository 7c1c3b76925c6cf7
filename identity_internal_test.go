package llmrouter

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

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
