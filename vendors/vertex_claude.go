package vendors

import "github.com/tidwall/sjson"

// Claude on Vertex AI speaks Anthropic's Messages API through
// :rawPredict / :streamRawPredict: the body is the Messages body without
// "model" (it is in the URL) and with "anthropic_version":
// "vertex-2023-10-16"; the answer and the stream are Anthropic's, translated
// by the anthropic kind's code (anthropic.go, anthropic_stream.go).

// vertexAnthropicVersion is the anthropic_version Vertex AI requires in the body.
const vertexAnthropicVersion = "vertex-2023-10-16"

// vertexClaudeBody translates an attempt into a Claude-on-Vertex body;
// maxTokens is max_tokens when the client sends none.
func vertexClaudeBody(maxTokens int, a Attempt) ([]byte, error) {
	r, err := parseChatRequest(a.Body)
	if err != nil {
		return nil, err
	}
	body, err := anthropicMessagesBody(r, "", maxTokens, a.Stream)
	if err != nil {
		return nil, err
	}
	if body, err = sjson.DeleteBytes(body, "model"); err != nil { // the model is in the URL
		return nil, err
	}
	return sjson.SetBytes(body, "anthropic_version", vertexAnthropicVersion)
}
