package vendors

// mistralKind is Mistral's La Plateforme. Its OpenAI-style surface has chat
// and embeddings only (FIM lives at /fim/completions, which is not the OpenAI
// completions API). Mistral rejects unknown body fields with 422; that is a
// request problem, so the generic classification (no failover) applies.
var mistralKind = &kind{
	name:           "mistral",
	defaultBaseURL: "https://api.mistral.ai/v1",
	endpoints:      endpointsOf(ChatCompletions, Embeddings),
	auth:           authBearer,
	sanitize:       sanitizeMistral,
	streamUsage:    usageRejected,
}
