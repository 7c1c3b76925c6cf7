package llmrouter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/selector"
)

func TestUnmarshalRoutingPolicyHedgeAndTags(t *testing.T) {
	var h LLMRouter
	require.NoError(t, h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`llm_router {
		routing_policy {
			only tag:eu kind:openai
			ignore tag:us
			ignore slow
			max_price prompt 3 completion 12
			max_cost_usd 0.5
			client_preferences off
		}
		hedge {
			after p99.5 min 300ms max 3s
			max 1
			budget 5%
		}
		vendor slow openai_compatible {
			base_url http://127.0.0.1:1
			tags us
			tags batch
			model m
		}
	}`)))
	assert.Equal(t, &RoutingPolicy{Only: []string{"tag:eu", "kind:openai"}, Ignore: []string{"tag:us", "slow"},
		MaxPrice: &MaxPrice{Prompt: ptr(3.0), Completion: ptr(12.0)}, MaxCostUSD: 0.5, ClientPreferences: ptr(false)},
		h.RoutingPolicy)
	assert.Equal(t, &HedgeConfig{Quantile: 0.995, Min: caddy.Duration(300 * time.Millisecond),
		Max: caddy.Duration(3 * time.Second), MaxExtra: 1, Budget: ptr(0.05)}, h.Hedge)
	assert.Equal(t, []string{"us", "batch"}, h.Vendors[0].Tags)

	for input, wantErr := range map[string]string{
		`routing_policy { max_price prompt }`:         "max_price: want [prompt <usd>] [completion <usd>]",
		`routing_policy { max_price input 3 }`:        `unknown price "input"`,
		`routing_policy { max_cost_usd 0 }`:           "max_cost_usd: want an amount above 0",
		`routing_policy { client_preferences maybe }`: "client_preferences: want on or off",
		`routing_policy { order a }`:                  `unrecognized routing_policy setting "order"`,
		`hedge { after 90 }`:                          "after: want a quantile from p50 to p99.9",
		`hedge { after p100 }`:                        "after: want a quantile from p50 to p99.9",
		`hedge { after p90 min }`:                     "after: want p<quantile> [min <duration>] [max <duration>]",
		`hedge { after p90 soon 1s }`:                 `unknown bound "soon"`,
		`hedge { max 2 }`:                             "only 1 extra attempt is supported",
		`hedge { budget 150% }`:                       "budget: want a share from 0 to 1",
	} {
		var h LLMRouter
		block := strings.ReplaceAll(strings.ReplaceAll(input, "{ ", "{\n"), " }", "\n}")
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("llm_router {\n" + block + "\n}"))
		require.Error(t, err, input)
		assert.Contains(t, err.Error(), wantErr, input)
	}
}

func TestProvisionRoutingPolicyAndHedge(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	vendor := VendorConfig{ID: "local", Kind: "openai_compatible", BaseURL: "http://127.0.0.1:1",
		Tags: []string{"eu"}, Models: []ModelConfig{{Name: "m"}}}
	for name, c := range map[string]struct {
		policy  *RoutingPolicy
		hedge   *HedgeConfig
		tags    []string
		wantErr string
	}{
		"unknown vendor":   {policy: &RoutingPolicy{Ignore: []string{"nobody"}}, wantErr: `routing_policy: ignore: "nobody" names no configured vendor or known kind`},
		"unknown kind":     {policy: &RoutingPolicy{Only: []string{"kind:nope"}}, wantErr: `routing_policy: only: "kind:nope"`},
		"negative price":   {policy: &RoutingPolicy{MaxPrice: &MaxPrice{Prompt: ptr(-1.0)}}, wantErr: "max_price prompt: must be a number of 0 or more"},
		"bad quantile":     {hedge: &HedgeConfig{Quantile: 0.2}, wantErr: "hedge: after: want a quantile from p50 to p99.9"},
		"min above max":    {hedge: &HedgeConfig{Min: caddy.Duration(time.Second), Max: caddy.Duration(time.Millisecond)}, wantErr: "hedge: min and max"},
		"bad tag":          {tags: []string{"a=b"}, wantErr: `vendor "local": tags: invalid tag "a=b"`},
		"a good policy":    {policy: &RoutingPolicy{Only: []string{"tag:eu", "local", "kind:openai"}, MaxCostUSD: 1}},
		"a default hedge":  {hedge: &HedgeConfig{}},
		"policy and hedge": {policy: &RoutingPolicy{Ignore: []string{"tag:us"}}, hedge: &HedgeConfig{Quantile: 0.99}},
	} {
		v := vendor
		if c.tags != nil {
			v.Tags = c.tags
		}
		if c.wantErr != "" {
			// Every one of these is refused before the embedded proxy,
			// which needs a running Caddy, is provisioned.
			h := &LLMRouter{Vendors: []VendorConfig{v}, RoutingPolicy: c.policy, Hedge: c.hedge, Ledger: &LedgerConfig{Backend: LedgerOff}}
			err := h.Provision(ctx)
			require.Error(t, err, name)
			assert.Contains(t, err.Error(), c.wantErr, name)
			require.NoError(t, h.Cleanup())
			continue
		}
		table, err := buildRouteTable([]VendorConfig{v}, caddy.NewReplacer(), selector.NewMemoryStore())
		require.NoError(t, err, name)
		policy, err := compilePolicy(c.policy, table)
		require.NoError(t, err, name)
		assert.Equal(t, c.policy != nil, policy != nil, name)
		hedge, err := newHedger(c.hedge, table)
		require.NoError(t, err, name)
		if c.hedge != nil {
			want := c.hedge.Quantile
			if want == 0 {
				want = DefaultHedgeQuantile
			}
			assert.InDelta(t, want, hedge.quantile, 1e-9, name)
			assert.Equal(t, DefaultHedgeBudget, hedge.budget, name)
			assert.NotNil(t, hedge.windows["m"], name)
		}
	}
}

func TestHedgeWindowKeepsTheBudget(t *testing.T) {
	var w hedgeWindow
	now := time.Unix(1000, 0)
	for range 100 {
		w.request(now)
	}
	taken := 0
	for range 20 {
		if w.take(0.05, now) {
			taken++
		}
	}
	assert.Equal(t, 5, taken, "5% of 100 requests")
	now = now.Add(90 * time.Second) // half of the last minute still counts
	for range 20 {
		if w.take(0.05, now) {
			taken++
		}
	}
	assert.Equal(t, 5, taken, "the previous minute's hedges still count: 2.5 of 2.5 allowed")
	now = now.Add(3 * time.Minute)
	assert.False(t, w.take(0.05, now), "an idle window allows nothing until requests come")
}
