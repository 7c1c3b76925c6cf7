package vendors

// openaiKind is OpenAI's own API, the reference every other kind imitates.
var openaiKind = &kind{
	name:           "openai",
	defaultBaseURL: "https://api.openai.com/v1",
	endpoints:      endpointsOf(ChatCompletions, Completions, Embeddings),
	auth:           authBearer,
	sanitize:       sanitizeOpenAI,
}
