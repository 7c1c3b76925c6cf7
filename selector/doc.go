// Package selector ranks the candidate routes (one vendor serving one model)
// for a single OpenAI-API request, and keeps each route's circuit breaker.
//
// A [Selector] holds the tunables ([Config]); what it learns lives in one
// [Route] per route, handed out by a [Store] so that it survives config
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
// # Routes and stores
//
// The Selector reaches a route's numbers and breaker only through the
// [Route] interface, so that a store shared between Caddy instances can
// serve them. [NewRoute] makes the in-memory Route; memoryroute.go is the
// only file that touches its locked fields. What a route learned can be
// taken out as plain data ([Route.State]), combined with what another
// instance learned ([Merge]) and loaded back ([Route.Load]). A [Store]
// hands out one Route per key and counts references, so that a route no
// config uses any more can be dropped; [MemoryStore] is the in-memory one.
// Caddy's handler keeps its routes in a caddy.UsagePool instead, which this
// package does not import.
//
// # Strategies
//
// Each strategy is a file of its own, strategy_NAME.go, with its test,
// strategy_NAME_test.go; no other code changes to add one. The file declares
// the strategy's exported constant, a [Strategy] number not yet taken (the
// numbers run from 0 without gaps, since callers index arrays with them, up
// to [MaxStrategies]), and registers it in an init function with:
//
//   - its name, which the "routing" field and the configuration use;
//   - the time to first token its scores are read with ([TTFTBasis]: this
//     prompt's bucket or the average over buckets);
//   - its order: a function that compares two candidates of the same health
//     tier for a request (health tiers come first whatever the strategy);
//   - whether its requests may be used for exploration.
//
// [ParseStrategy], [Strategy.String], [StrategyNames] and the choices error
// messages offer ([StrategyChoices]) follow from the registry. The docs do
// not: the configuration references in README.md and caddyfile.go list the
// names by hand, and a test in the root package checks that they list them
// all.
//
// The package is pure Go with no dependency on Caddy, so that it can be
// tested and benchmarked on its own. Ranking, admitting, observing and
// estimating do not allocate.
package selector
