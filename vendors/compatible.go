package vendors

// compatibleKind is any server speaking the OpenAI API at a base URL the
// operator gives (vLLM, Ollama, Groq, LM Studio, another gateway...). Local
// servers often run without auth, so the key is optional and no
// Authorization header is sent without one.
var compatibleKind = &kind{
	name:        "openai_compatible",
	keyOptional: true,
	endpoints:   endpointsOf(ChatCompletions, Completions, Embeddings),
	auth:        authBearer,
	streamUsage: usagePassThrough,
}
