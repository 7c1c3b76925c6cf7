// Package fleettest holds the tests that run Caddy with llm_router as
// separate processes, the way operators run it: two instances sharing one
// Redis and one PostgreSQL, and a single instance stopped by SIGTERM or
// killed by SIGKILL under load. Its test binary is its own Caddy: run as a
// child with childEnv set, it is `caddy run`, with every module of
// ./cmd/caddy linked in, so the tests need not build a binary.
package fleettest
