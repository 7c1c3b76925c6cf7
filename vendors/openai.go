package vendors

// openai is OpenAI's own API, the reference every other kind imitates.
func init() {
	register(&kind{
		name:           "openai",
		defaultBaseURL: "https://api.openai.com/v1",
		backend: compatKind(compatOptions{
			endpoints: endpointsOf(ChatCompletions, Completions, Embeddings, Responses),
			auth:      authBearer,
			sanitize:  sanitizeOpenAI,
		}),
	})
}
