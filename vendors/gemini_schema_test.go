package vendors

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeminiSchema(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty object dropped", `{"type":"object","properties":{}}`, ``},
		{"object without properties dropped", `{"type":"object","additionalProperties":true}`, ``},
		{"null", `null`, ``},
		{"nullable object via type array", `{"type":"object","properties":{"a":{"type":["object","null"],"properties":{"b":{"type":"string"}}}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"OBJECT","nullable":true,"properties":{"b":{"type":"STRING"}}}}}`},
		{"pydantic optional", `{"type":"object","properties":{"a":{"anyOf":[{"$ref":"#/definitions/A"},{"type":"null"}],"default":null}},"definitions":{"A":{"type":"string","enum":["x","y"]}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"STRING","enum":["x","y"],"nullable":true,"default":null}}}`},
		{"recursive ref is cut", `{"type":"object","properties":{"n":{"$ref":"#","description":"next"}}}`,
			`{"type":"OBJECT","properties":{"n":{"description":"next"}}}`},
		{"unknown ref", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"},"b":{"type":"string"}}}`,
			`{"type":"OBJECT","properties":{"a":{},"b":{"type":"STRING"}}}`},
		{"enum sets STRING", `{"type":"object","properties":{"a":{"enum":["p","q"]}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"STRING","enum":["p","q"]}}}`},
		{"tuple items", `{"type":"object","properties":{"a":{"type":"array","items":[{"type":"integer"},{"type":"string"}]}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"ARRAY","items":{"type":"INTEGER"}}}}`},
		{"upper-case types", `{"type":"OBJECT","properties":{"a":{"type":"Boolean"}}}`,
			`{"type":"OBJECT","properties":{"a":{"type":"BOOLEAN"}}}`},
		{"propertyOrdering and title kept", `{"type":"object","title":"T","propertyOrdering":["b","a"],"properties":{"a":{"type":"string","example":"e"},"b":{"type":"number","pattern":"x"}}}`,
			`{"type":"OBJECT","title":"T","propertyOrdering":["b","a"],"properties":{"a":{"type":"STRING","example":"e"},"b":{"type":"NUMBER","pattern":"x"}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := geminiSchema(json.RawMessage(c.in))
			require.NoError(t, err)
			if c.want == "" {
				assert.Nil(t, got)
				return
			}
			assert.JSONEq(t, c.want, string(got))
		})
	}
	_, err := geminiSchema(json.RawMessage(`{"type":`))
	require.Error(t, err)
}

// A deeply nested schema is cut at geminiSchemaMaxDepth instead of
// recursing without end.
func TestGeminiSchemaDepth(t *testing.T) {
	s := `{"type":"string"}`
	for range 100 {
		s = `{"type":"object","properties":{"a":` + s + `}}`
	}
	got, err := geminiSchema(json.RawMessage(s))
	require.NoError(t, err)
	depth := strings.Count(string(got), `"properties"`)
	assert.LessOrEqual(t, depth, geminiSchemaMaxDepth+1)
	assert.Greater(t, depth, 10)
}
