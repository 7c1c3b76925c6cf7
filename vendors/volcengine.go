package vendors

// volcengine is Volcano Engine Ark (Doubao, and DeepSeek/Kimi/GLM hosted in
// China). The body model is a model ID or an inference endpoint ID
// ("ep-..."). Keys are region-bound, so the BytePlus international host is
// configured with base_url.
func init() {
	register(&kind{
		name:           "volcengine",
		defaultBaseURL: "https://ark.cn-beijing.volces.com/api/v3",
		backend: compatKind(compatOptions{
			endpoints: endpointsOf(ChatCompletions, Embeddings),
			probe:     probeNone, // Ark's model ids are endpoints; nothing free names them
			auth:      authBearer,
			sanitize:  sanitizeNonOpenAI,
			classify:  classifyVolcengine,
		}),
	})
}

// classifyVolcengine reads Ark's error.code, which is more precise than its
// status:
//
//   - InvalidEndpoint.ClosedEndpoint (a 400) means the inference endpoint is
//     closed or temporarily unavailable: the model is not available here;
//   - AccountOverdueError (a 403) means the account is out of money, which
//     needs a longer cool-down than a bad key;
//   - ServerOverloaded (sent with a 429) is Ark being busy, not our key
//     being throttled.
func classifyVolcengine(_ int, body []byte) (Verdict, bool) {
	switch errorRoot(body).Get("error.code").String() {
	case "InvalidEndpoint.ClosedEndpoint":
		return Verdict{true, ReasonNotFound}, true
	case "AccountOverdueError":
		return Verdict{true, ReasonQuota}, true
	case "ServerOverloaded":
		return Verdict{true, ReasonOverloaded}, true
	}
	return Verdict{}, false
}
