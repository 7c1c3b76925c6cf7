package meter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

func TestAppendUsageChunk(t *testing.T) {
	s := NewStream(StreamOptions{})
	s.usage = billing.Usage{PromptTokens: 7, CachedTokens: 5, CompletionTokens: 2}
	got := string(s.appendUsageChunk([]byte("prefix|")))
	assert.Equal(t, `prefix|data: {"id":"","object":"chat.completion.chunk","created":0,"model":"","choices":[],`+
		`"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9,"prompt_tokens_details":{"cached_tokens":5}}}`+"\n\n", got,
		"defaults when the stream's chunks had no id")

	m := topLevel(`{"id":"cmpl-9","object":"text_completion","created":42,"model":"gpt-3.5-turbo-instruct"}`)
	s.captureMeta(&m)
	s.crlf = true
	got = string(s.appendUsageChunk(nil))
	require.True(t, strings.HasSuffix(got, "\r\n\r\n"))
	payload := strings.TrimSuffix(strings.TrimPrefix(got, "data: "), "\r\n\r\n")
	var chunk struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []any  `json:"choices"`
		Usage   struct {
			PromptTokens        int `json:"prompt_tokens"`
			CompletionTokens    int `json:"completion_tokens"`
			TotalTokens         int `json:"total_tokens"`
			PromptTokensDetails struct {
				CachedTokens int `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	require.NoError(t, json.Unmarshal([]byte(payload), &chunk))
	assert.Equal(t, "cmpl-9", chunk.ID)
	assert.Equal(t, "text_completion", chunk.Object, "a legacy stream keeps its object")
	assert.Equal(t, int64(42), chunk.Created)
	assert.Equal(t, "gpt-3.5-turbo-instruct", chunk.Model)
	assert.NotNil(t, chunk.Choices)
	assert.Empty(t, chunk.Choices)
	assert.Equal(t, 9, chunk.Usage.TotalTokens)
	assert.Equal(t, 5, chunk.Usage.PromptTokensDetails.CachedTokens)
}

func TestSynthesizeUsageOnlyWhenNeeded(t *testing.T) {
	tests := map[string]struct {
		o     StreamOptions
		input string
		want  int
	}{
		"client did not ask":       {StreamOptions{}, geminiStream, 0},
		"vendor sent its own":      {wantUsage, openAIStream, 0},
		"no usage to report":       {wantUsage, toolCallStream, 0},
		"usage elsewhere":          {wantUsage, mistralStream, 1},
		"no [DONE], no usage":      {wantUsage, strings.TrimSuffix(mistralStream, "data: [DONE]\n\n"), 0},
		"two [DONE], one usage":    {wantUsage, mistralStream + "data: [DONE]\n\n", 1},
		"legacy with usage on one": {wantUsage, strings.Replace(legacyStream, `"model":"gpt-3.5-turbo-instruct"}`+"\n\ndata: [DONE]", `"model":"gpt-3.5-turbo-instruct","usage":{"prompt_tokens":1,"completion_tokens":2}}`+"\n\ndata: [DONE]", 1), 1},
	}
	for name, tt := range tests {
		s, out := feed(t, tt.o, tt.input, 0)
		assert.Equal(t, tt.want, s.synthesized, name)
		assert.Equal(t, tt.want, strings.Count(out, `"choices":[],"usage":{`)-strings.Count(tt.input, `"choices":[],"usage":{`), name)
	}
}
