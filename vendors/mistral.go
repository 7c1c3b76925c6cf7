package vendors

// mistral is Mistral's La Plateforme. Its OpenAI-style surface has chat and
// embeddings only (FIM lives at /fim/completions, which is not the OpenAI
// completions API). Mistral rejects unknown body fields with 422; that is a
// request problem, so the generic classification (no failover) applies.
func init() {
	register(&kind{
		name:           "mistral",
		defaultBaseURL: "https://api.mistral.ai/v1",
		backend: compatKind(compatOptions{
			endpoints:   endpointsOf(ChatCompletions, Embeddings),
			auth:        authBearer,
			sanitize:    sanitizeMistral,
			streamUsage: usageRejected,
		}),
	})
}
