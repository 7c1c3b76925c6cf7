// Command caddy is Caddy with the standard modules and llm_router, so that
// `go build ./cmd/caddy` gives a working binary without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddy-llm/llmrouter"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
