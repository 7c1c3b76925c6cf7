// Package sharedstate shares what the routes learn, their circuit breakers,
// and counters for limits, between Caddy instances, through Redis. It
// imports nothing from Caddy: [Shared] is a selector.Store, which the
// handler uses instead of its in-memory store.
//
// # The hot path stays local
//
// The Route a Shared hands out wraps two in-memory routes
// (selector.NewRoute): local, what this instance observed, which is what it
// publishes; and view, what ranking reads and admits on, which is local's
// samples merged with the other instances' published ones plus the fleet's
// breaker. ReadInto, Admit and ObserveSuccess never touch the network and
// do not allocate (BenchmarkRoute). ObserveFailure takes a lock and copies
// the breaker; when the failure opened the breaker, or made its cooldown
// longer, it hands the breaker to a goroutine that publishes it, without
// waiting (a full queue drops it, and the next sync carries it).
//
// # Synchronization
//
// Every SyncInterval (and at once when a route is new to this instance, so
// that it starts with what the fleet learned, or when the breakers channel
// was subscribed again), one round, in two round trips for all routes:
//
//  1. a MULTI/EXEC that replaces this instance's state hash (a field per
//     route) with a TTL of 3 SyncIntervals, refreshes this instance's
//     alive key and its entry in the registry, prunes the registry, lists
//     it, and reads the routes' breaker keys;
//  2. a pipeline of an EXISTS of the other instances' alive keys (the live
//     ones: Shared.Instances) and one HMGET of this instance's routes per
//     other instance (none of either when alone).
//
// Each route's view is then rebuilt (selector.Route.Rebase): its samples
// become Merge(local, the others' states), so each instance's samples count
// once, whatever the number of rounds (nobody merges what it published
// itself, and what others publish holds their own samples only); its breaker
// is merged with the others' breakers and the breaker keys, never replaced,
// so a breaker opened here meanwhile stands. What an instance publishes is
// its own samples and the fleet's breaker as it knows it: breakers merge
// by max and latest, so merging one twice is harmless. A breaker ends
// across the fleet when a success that started after its opening is seen
// anywhere (selector.Merge). An instance that stops publishing (it died, or
// was closed) drops out when its state expires.
//
// # Breakers
//
// A breaker opened here is set as a key that lives until its cooldown ends
// and announced on a channel, in one round trip. Every instance subscribes;
// a received breaker is merged into the route's view at once
// (selector.Route.Absorb), well within a second. An instance that
// subscribes (at start, or again after an outage) runs a round, which reads
// the breaker keys of its routes: it honours breakers opened while it was
// not listening. Clocks: a breaker's times travel as they are, so the
// instances' clocks should agree to well within a cooldown (NTP).
//
// # Redis down or slow
//
// No request waits for Redis: every call is bounded (DialTimeout,
// CommandTimeout), and the routes carry on with what this instance learns.
// The sync loop and the subscriber retry with backoff (from a quarter of
// SyncInterval up to SyncInterval, at least a second) and, once Redis
// answers, publish, read and resubscribe. [Shared.Up] and Config.OnUpChange
// follow every call's outcome, in the order the calls started: a call that
// hung through an outage and times out after a later call found Redis back
// does not mark it down again. One WARN is logged per outage, one INFO when
// it ends.
//
// # Counters
//
// [Shared.Reserve] checks several counters (request and token rates over
// sliding windows, budgets, concurrency) in one round trip, with a Lua
// script (reserve.lua, run by EVALSHA with a fallback to EVAL): it charges
// every amount only if every counter has room, and otherwise says which
// counter refused and when the amount would fit. Either way it returns
// every counter's count after the charge (a window's is the estimate it
// decides on) and how long until the counter is back to empty
// ([Counts]; the formulas are on Counts.Reset and in reserve.lua), so that
// what is left is exact across instances without another round trip. A
// budget may carry a seed, what the ledger says was spent: the script sets
// it (SET NX, with the period's expiry) when the key does not exist, so
// that spend survives a Redis restart. [Shared.Peek] runs the same script
// without charging, for the admin path. [Shared.Settle] adjusts a
// reservation to what was used (settle.lua): it charges or refunds the
// difference, and gives back concurrency slots. internal/limits's Redis
// limiter is their user.
//
// reserve.lua's reply is {ok, refused, retry ms}, then {window number
// charged, count, ms to reset} per counter; settle.lua's, the number of
// counters it adjusted.
//
// [Shared.Instances] is the number of live instances the last round counted
// (alive keys), which a limiter enforcing limits locally during an outage
// divides them by.
//
// # Key layout
//
// Every key and channel starts with Config.KeyPrefix ("llm_router:"):
//
//	instances               sorted set: instance id → last round (Unix ms, its own clock);
//	                        an index of who may have published, pruned after
//	                        max(10 × state TTL, 1 min); expires when nobody runs
//	state:<instance>        hash: route key → the instance's State (below), rewritten
//	                        each round; expires 3 × SyncInterval after the last one
//	alive:<instance>        string: the last round (Unix ms), set each round; expires
//	                        3 × SyncInterval after the last one (a state hash may be
//	                        missing: an instance with nothing learned has none)
//	breaker:<route key>     string: the breaker record, set when a failure opens
//	                        the breaker, expiring when its cooldown ends (PX)
//	breakers                pub/sub channel: {"i": instance, "r": route key, "k": breaker}
//	rate:<name>             hash: fixed window number → count (the current and the
//	                        previous window); expires after two windows
//	budget:<name>           string: the count; expires a period after it started
//	                        (none without a period); created at the seed, if any,
//	                        when a reservation finds it missing
//	slots:<name>            sorted set: "<reservation id>#<n>" → end of the slot's lease
//	                        (Unix ms, Redis's clock); expires with the last lease
//
// Route keys are the selector's (kind/id/model). The encoding of a State
// and of a breaker record is JSON with short names and times in Unix
// nanoseconds, versioned (see encode.go): readable with redis-cli, and
// about 100 bytes per measured bucket.
package sharedstate
