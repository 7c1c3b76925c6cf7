// Package selector ranks the candidate routes (one vendor serving one model)
// for a single OpenAI-API request.
//
// It learns from what the caller reports back: time to first byte per
// prompt-size bucket ([RouteStats.ObserveLatency]), completion sizes
// ([RouteStats.ObserveCompletion]) and failures ([RouteStats.ObserveFailure]).
// [Rank] then orders the candidates for a request according to the
// [Strategy] the request asked for, always putting healthy routes first.
//
// The package is pure Go with no dependency on Caddy, so that it can be
// tested and benchmarked on its own. The hot-path functions ([Rank] and
// [EstimatePromptTokens]) do not allocate.
package selector
