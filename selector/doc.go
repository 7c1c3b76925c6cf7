// Package selector ranks the candidate routes (one vendor serving one model)
// for a single OpenAI-API request, and keeps each route's circuit breaker.
//
// A [Selector] holds the tunables ([Config]); what it learns lives in one
// [RouteStats] per route, handed out by a [Store] so that it survives config
// reloads. Per request the caller:
//
//  1. estimates the prompt size with a [PromptEstimator], feeding it the
//     body's top-level members as its validating pass (jsonwalk.Object)
//     hands them out, and ranks the candidates ([Selector.Rank]): healthy
//     routes first, then by the [Strategy] the request asked for, with a
//     small share of requests exploring runners-up so that their numbers
//     stay true;
//  2. asks [Selector.Admit] right before trying each route, which lets one
//     probe through a half-open breaker;
//  3. reports each attempt: [Selector.ObserveSuccess] with its timings
//     (time to first token per prompt-size bucket, decode speed, completion
//     size) or [Selector.ObserveFailure] with its kind.
//
// Every method takes the current time from the caller, so tests drive the
// decay and the breakers with their own clock. [Selector.Snapshot] shows a
// route's state for the admin API.
//
// The package is pure Go with no dependency on Caddy, so that it can be
// tested and benchmarked on its own. Ranking, admitting, observing and
// estimating do not allocate.
package selector
