package llmrouter

import (
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/selector"
)

// provisionRoutes does what Provision does with the route states: the rest
// of Provision needs a running Caddy (the embedded reverse_proxy looks up
// other apps), which the integration tests have.
func provisionRoutes(t *testing.T, h *LLMRouter) {
	t.Helper()
	h.store = routePool{}
	table, err := buildRouteTable(h.Vendors, caddy.NewReplacer(), h.store)
	require.NoError(t, err)
	h.table = table
	h.selector = selector.New(selector.Config{})
}

// A reload provisions the new config before it cleans up the old one: a
// route both configs use keeps what it learned across the old config's
// Cleanup, and is dropped with the last config that uses it. (The reload
// itself is tested in TestPerfRoutingPicksMeasurablyFasterVendor.)
func TestRouteStatesFollowConfigLifetimes(t *testing.T) {
	shared := ModelConfig{Name: "pool-test-shared"}
	old := &LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k",
		Models: []ModelConfig{shared, {Name: "pool-test-dropped"}}}}}
	reloaded := &LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k", Models: []ModelConfig{shared}}}}
	key := "openai/openai/" + shared.Name
	droppedKey := "openai/openai/pool-test-dropped"

	provisionRoutes(t, old)
	learned := old.table.byModel[shared.Name][0].stats
	old.selector.ObserveFailure(learned, selector.Failure{}, time.Now())

	provisionRoutes(t, reloaded)
	refs, ok := routeStates.References(key)
	require.True(t, ok)
	assert.Equal(t, 2, refs, "both configs use the shared route")
	assert.Same(t, learned, reloaded.table.byModel[shared.Name][0].stats)

	require.NoError(t, old.Cleanup())
	refs, ok = routeStates.References(key)
	require.True(t, ok, "the reloaded config still uses the shared route")
	assert.Equal(t, 1, refs)
	assert.Equal(t, int64(1), reloaded.selector.Snapshot(reloaded.table.byModel[shared.Name][0].stats, time.Now()).Failures,
		"what the old config learned survives its cleanup")
	_, ok = routeStates.References(droppedKey)
	assert.False(t, ok, "a route only the old config used is dropped with it")

	require.NoError(t, reloaded.Cleanup())
	_, ok = routeStates.References(key)
	assert.False(t, ok, "no config uses the route any more")
	fresh := routePool{}.Route(key)
	defer routePool{}.Release(key)
	assert.NotSame(t, learned, fresh, "a config loaded later starts afresh")
}

// A config that fails to build gives back the routes it took.
func TestRouteTableFailureReleasesStates(t *testing.T) {
	_, err := buildRouteTable([]VendorConfig{
		{ID: "openai", APIKey: "k", Models: []ModelConfig{{Name: "pool-test-failed"}}},
		{ID: "mistral", APIKey: "k", Models: []ModelConfig{{Name: "m"}, {Name: "m"}}},
	}, caddy.NewReplacer(), routePool{})
	require.ErrorContains(t, err, "declared twice")
	_, ok := routeStates.References("openai/openai/pool-test-failed")
	assert.False(t, ok)
	_, ok = routeStates.References("mistral/mistral/m")
	assert.False(t, ok)
}
