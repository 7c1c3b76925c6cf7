package vendors

// Why an attempt at a vendor was given up, or why a vendor's answer went to
// the client as it was: one list for every source (the vendor's error
// answer, the connection, the request, the commit point). They are the
// "reason" of an attempt in the client's error and in the log, and the
// reason label of caddy_llm_router_failovers_total, so they are stable,
// lower-case, and few.
const (
	// A vendor's error answer, as Classify judges it.
	ReasonRateLimited = "rate_limited" // 429: this key or deployment is throttled
	ReasonOverloaded  = "overloaded"   // 503/529 or an explicit overload code: the vendor is busy
	ReasonServerError = "server_error" // other 5xx, and 409
	ReasonTimeout     = "timeout"      // 408/504, or no answer within the router's ttft_timeout
	ReasonAuth        = "auth"         // 401/403 or an equivalent body: our credential or its permissions
	ReasonQuota       = "quota"        // 402, insufficient_quota, overdue account: our account is out of money
	ReasonNotFound    = "not_found"    // 404: the model/deployment is not on this vendor
	ReasonBadRequest  = "bad_request"  // 400/413/422: the client's request is wrong (no failover)
	ReasonClientError = "client_error" // any other 4xx (no failover)

	// The connection: it could not be made, or it broke before an answer.
	ReasonConnection = "connection_error"

	// The request cannot be expressed in the vendor's API (n > 1 for
	// Anthropic, an image URL for Bedrock...): another vendor may take it.
	ReasonUnsupported = "unsupported_request"

	// A 200 that failed before its first content token (the commit point).
	ReasonStreamError     = "stream_error"     // an error event (or error body) before the first token
	ReasonEmptyCompletion = "empty_completion" // zero completion tokens, or an error finish reason
	ReasonStreamBroken    = "stream_broken"    // the stream failed or ended before the first token
	ReasonBadResponse     = "bad_response"     // a body that is not the JSON it claims to be
)
