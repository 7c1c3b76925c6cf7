package vendors

// openai_compatible is any server speaking the OpenAI API at a base URL the
// operator gives (vLLM, Ollama, Groq, LM Studio, another gateway...). Local
// servers often run without auth, so the key is optional and no
// Authorization header is sent without one. Whether it accepts
// stream_options is unknown, so the client's go as they are.
func init() {
	register(&kind{
		name:        "openai_compatible",
		keyOptional: true,
		backend: compatKind(compatOptions{
			endpoints:   endpointsOf(ChatCompletions, Completions, Embeddings),
			probe:       probeList, // vLLM, Ollama, LiteLLM... list /models
			auth:        authBearer,
			streamUsage: usagePassThrough,
			sanitize:    sanitizeCompatible,
		}),
	})
}
