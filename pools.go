package llmrouter

import (
	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-llm/llmrouter/selector"
)

// routeStates holds what was learned about each route (its selector.Route),
// by stats key, for as long as a loaded config uses the route, like
// reverse_proxy's upstream hosts. A reload provisions the new config, which
// takes its routes, before it cleans up the old one, which releases its own:
// the routes both use keep what they learned, and the routes that only the
// old config used are dropped.
var routeStates = caddy.NewUsagePool()

// pooledRoute is a selector.Route kept in routeStates.
type pooledRoute struct{ selector.Route }

// Destruct is called when the last config that used the route is cleaned up.
// What the in-memory route learned goes with it; there is nothing to close.
func (pooledRoute) Destruct() error { return nil }

// routePool is the selector.Store over routeStates that handlers use.
type routePool struct{}

// Route returns the route for key and counts a use of it.
func (routePool) Route(key string) selector.Route {
	v, _, _ := routeStates.LoadOrNew(key, func() (caddy.Destructor, error) {
		return pooledRoute{selector.NewRoute()}, nil
	})
	return v.(pooledRoute).Route
}

// Release gives back one use of key's route.
func (routePool) Release(key string) {
	// Destruct never fails.
	_, _ = routeStates.Delete(key)
}

// Interface guards
var (
	_ caddy.Destructor = pooledRoute{}
	_ selector.Store   = routePool{}
)
