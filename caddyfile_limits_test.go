package llmrouter

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/limits"
)

func TestUnmarshalLimits(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		want    *limits.Config
		wantErr string
	}{
		{
			name: "every setting",
			input: `limits {
				key       {http.auth.user.id}
				tier_from {http.request.header.X-Llm-Tier}
				on_error  closed
				tier default {
					requests   60 per 1m
					tokens     200k per 1m count output
					concurrent 8
					usd        25 per month hard time_zone Europe/Paris
					model gpt-4o* {
						usd 10 per day
					}
				}
				tier free {
					requests 5 per 1m
				}
				client key:3f2a {
					usd 500 per 30d
				}
			}`,
			want: &limits.Config{
				Key: "{http.auth.user.id}", TierFrom: "{http.request.header.X-Llm-Tier}", OnError: "closed",
				Tiers: map[string]limits.Set{
					"default": {
						Requests:   &limits.Rate{Limit: 60, Per: "1m"},
						Tokens:     &limits.Rate{Limit: 200_000, Per: "1m", Count: "output"},
						Concurrent: 8,
						USD:        &limits.Budget{USD: 25, Per: "month", Hard: true, TimeZone: "Europe/Paris"},
						Models:     []limits.ModelSet{{Match: "gpt-4o*", USD: &limits.Budget{USD: 10, Per: "day"}}},
					},
					"free": {Requests: &limits.Rate{Limit: 5, Per: "1m"}},
				},
				Clients: map[string]limits.Set{"key:3f2a": {USD: &limits.Budget{USD: 500, Per: "30d"}}},
			},
		},
		{name: "empty", input: "limits", want: &limits.Config{}},
		{name: "argument", input: "limits now", wantErr: "wrong argument count"},
		{name: "unknown setting", input: "limits {\nburst 5\n}", wantErr: `limits: unrecognized setting "burst"`},
		{name: "tier without name", input: "limits {\ntier {\n}\n}", wantErr: "tier: want `tier <name> { ... }`"},
		{name: "tier twice", input: "limits {\ntier a {\n}\ntier a {\n}\n}", wantErr: `tier "a": declared twice`},
		{name: "unknown limit", input: "limits {\ntier a {\nrpm 5\n}\n}", wantErr: `tier "a": unrecognized limit "rpm"`},
		{name: "requests without per", input: "limits {\ntier a {\nrequests 5\n}\n}", wantErr: "tier \"a\": requests: want `requests <n> per <window>`"},
		{name: "bad quantity", input: "limits {\ntier a {\nrequests lots per 1m\n}\n}", wantErr: `tier "a": requests:`},
		{name: "count on requests", input: "limits {\ntier a {\nrequests 5 per 1m count input\n}\n}", wantErr: `tier "a": requests: unexpected "count input"`},
		{name: "requests twice", input: "limits {\ntier a {\nrequests 5 per 1m\nrequests 6 per 1m\n}\n}", wantErr: `tier "a": requests: set twice`},
		{name: "bad concurrent", input: "limits {\ntier a {\nconcurrent 0\n}\n}", wantErr: `tier "a": concurrent: want a whole number of 1 or more, got "0"`},
		{name: "bad usd", input: "limits {\nclient bob {\nusd free per day\n}\n}", wantErr: `client "bob": usd:`},
		{name: "usd trailing", input: "limits {\nclient bob {\nusd 5 per day soft\n}\n}", wantErr: `client "bob": usd: unexpected "soft"`},
		{name: "model without pattern", input: "limits {\ntier a {\nmodel {\n}\n}\n}", wantErr: "tier \"a\": model: want `model <pattern> { ... }`"},
		{name: "bad limit in model", input: "limits {\ntier a {\nmodel m* {\nconcurrent x\n}\n}\n}", wantErr: `tier "a": model "m*": concurrent:`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := caddyfile.NewTestDispenser(c.input)
			d.Next()
			got, err := unmarshalLimits(d)
			if c.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}
