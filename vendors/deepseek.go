package vendors

// deepseek is DeepSeek's first-party API. Its base URL has no /v1 (the /v1
// alias exists but is not the documented form), and it has chat only: FIM is
// at /beta/completions with a different contract, and there are no
// embeddings. Its "Insufficient Balance" is a 402, which the generic rules
// already treat as a quota failover. It takes max_tokens, not
// max_completion_tokens (sanitizeDeepSeek).
func init() {
	register(&kind{
		name:           "deepseek",
		defaultBaseURL: "https://api.deepseek.com",
		backend: compatKind(compatOptions{
			endpoints: endpointsOf(ChatCompletions),
			probe:     probeList, // no single-model lookup
			auth:      authBearer,
			sanitize:  sanitizeDeepSeek,
		}),
	})
}
