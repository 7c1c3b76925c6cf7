package llmrouter

import (
	"context"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func TestUnmarshalCaddyfile(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		want    LLMRouter
		wantErr string
	}{
		{
			name: "every subdirective",
			input: `llm_router {
				routing price
				vendor_header X-Vendor
				max_request_body 4MiB
				write_buffer 128KiB
				ttft_timeout 15s
				stream_idle_timeout 20s
				retries 2
				path_prefix /openai/v1
				half_life 2m
				exploration 5%
				stale_after 15m
				failure_threshold 4
				cooldown 2s 90s
				quota_cooldown 3h
				vendor openai {
					api_key {env.OPENAI_API_KEY}
					header OpenAI-Organization org-1
					model gpt-4o input 2.5 output 10 cached_input 1.25
					model gpt-4o-mini
				}
				vendor bedrock aws {
					region us-east-1
					access_key_id {env.AWS_KEY_ID}
					secret_access_key {env.AWS_SECRET}
					session_token {env.AWS_TOKEN}
					max_tokens 2048
					model claude-sonnet as us.anthropic.claude-sonnet-4-20250514-v1:0
				}
				vendor vx vertex {
					project my-proj
					region global
					credentials_file /etc/sa.json
					model gemini-2.5-flash
				}
				vendor google {
					api openai
					api_key k
					model gemini-2.5-flash
				}
				vendor azure-eu azure {
					base_url https://eu.openai.azure.com
					api_key {env.AZURE_KEY}
					api_version 2024-10-21
					model gpt-4o as gpt4o-deployment output 10 input 2.75
				}
			}`,
			want: LLMRouter{
				Routing:           "price",
				VendorHeader:      "X-Vendor",
				MaxRequestBody:    4 << 20,
				WriteBufferSize:   128 << 10,
				TTFTTimeout:       caddy.Duration(15 * time.Second),
				StreamIdleTimeout: caddy.Duration(20 * time.Second),
				Retries:           ptr(2),
				PathPrefix:        ptr("/openai/v1"),
				HalfLife:          caddy.Duration(2 * time.Minute),
				Exploration:       ptr(0.05),
				StaleAfter:        caddy.Duration(15 * time.Minute),
				FailureThreshold:  4,
				CooldownBase:      caddy.Duration(2 * time.Second),
				CooldownMax:       caddy.Duration(90 * time.Second),
				QuotaCooldown:     caddy.Duration(3 * time.Hour),
				Vendors: []VendorConfig{
					{
						ID: "openai", APIKey: "{env.OPENAI_API_KEY}",
						Headers: map[string]string{"OpenAI-Organization": "org-1"},
						Models: []ModelConfig{
							{Name: "gpt-4o", InputPrice: ptr(2.5), OutputPrice: ptr(10.0), CachedInputPrice: ptr(1.25)},
							{Name: "gpt-4o-mini"},
						},
					},
					{
						ID: "bedrock", Kind: "aws", Region: "us-east-1", AccessKeyID: "{env.AWS_KEY_ID}",
						SecretAccessKey: "{env.AWS_SECRET}", SessionToken: "{env.AWS_TOKEN}", MaxTokens: 2048,
						Models: []ModelConfig{{Name: "claude-sonnet", VendorModel: "us.anthropic.claude-sonnet-4-20250514-v1:0"}},
					},
					{
						ID: "vx", Kind: "vertex", Project: "my-proj", Region: "global", CredentialsFile: "/etc/sa.json",
						Models: []ModelConfig{{Name: "gemini-2.5-flash"}},
					},
					{ID: "google", API: "openai", APIKey: "k", Models: []ModelConfig{{Name: "gemini-2.5-flash"}}},
					{
						ID: "azure-eu", Kind: "azure", BaseURL: "https://eu.openai.azure.com",
						APIKey: "{env.AZURE_KEY}", APIVersion: "2024-10-21",
						Models: []ModelConfig{
							{Name: "gpt-4o", VendorModel: "gpt4o-deployment", OutputPrice: ptr(10.0), InputPrice: ptr(2.75)},
						},
					},
				},
			},
		},
		{name: "empty block", input: `llm_router`, want: LLMRouter{}},
		{
			name: "ledger and shared state",
			input: `llm_router {
				ledger postgres "postgres://router:{env.PG_PASSWORD}@db:5432/llm"
				ledger_flush_interval 0
				ledger_retention 2160h
				shared redis rediss://cache:6380/2 {
					username router
					password {env.REDIS_PASSWORD}
					tls cache.internal
					key_prefix prod:
					dial_timeout 2s
					timeout 300ms
					sync_interval 10s
				}
			}`,
			want: LLMRouter{
				Ledger: &LedgerConfig{Backend: "postgres", DSN: "postgres://router:{env.PG_PASSWORD}@db:5432/llm",
					FlushInterval: ptr(caddy.Duration(0)), Retention: caddy.Duration(2160 * time.Hour)},
				Shared: &SharedConfig{Redis: &RedisConfig{Address: "rediss://cache:6380/2", Username: "router",
					Password: "{env.REDIS_PASSWORD}", TLS: true, TLSServerName: "cache.internal", KeyPrefix: "prod:",
					DialTimeout: caddy.Duration(2 * time.Second), Timeout: caddy.Duration(300 * time.Millisecond),
					SyncInterval: caddy.Duration(10 * time.Second)}},
			},
		},
		{name: "ledger sqlite default path", input: "llm_router {\nledger sqlite\n}", want: LLMRouter{Ledger: &LedgerConfig{Backend: "sqlite"}}},
		{name: "ledger sqlite path", input: "llm_router {\nledger sqlite /var/lib/llm.db\n}",
			want: LLMRouter{Ledger: &LedgerConfig{Backend: "sqlite", Path: "/var/lib/llm.db"}}},
		{name: "ledger off", input: "llm_router {\nledger off\n}", want: LLMRouter{Ledger: &LedgerConfig{Backend: "off"}}},
		{name: "ledger memory", input: "llm_router {\nledger memory\n}", want: LLMRouter{Ledger: &LedgerConfig{Backend: "memory"}}},
		{name: "shared redis address in block", input: "llm_router {\nshared redis {\naddress 10.0.0.5:6379\ndb 3\n}\n}",
			want: LLMRouter{Shared: &SharedConfig{Redis: &RedisConfig{Address: "10.0.0.5:6379", DB: 3}}}},
		{name: "ledger unknown backend", input: "llm_router {\nledger mysql dsn\n}", wantErr: `ledger: unknown backend "mysql"`},
		{name: "ledger postgres without dsn", input: "llm_router {\nledger postgres\n}", wantErr: "ledger postgres: want one connection string"},
		{name: "ledger off with argument", input: "llm_router {\nledger off now\n}", wantErr: "wrong argument count"},
		{name: "ledger without backend", input: "llm_router {\nledger\n}", wantErr: "wrong argument count"},
		{name: "bad ledger_retention", input: "llm_router {\nledger_retention forever\n}", wantErr: `ledger_retention: invalid duration "forever"`},
		{name: "bad ledger_flush_interval", input: "llm_router {\nledger_flush_interval -1s\n}", wantErr: `ledger_flush_interval: invalid duration "-1s"`},
		{name: "shared without redis", input: "llm_router {\nshared etcd\n}", wantErr: "shared: want `shared redis [<address>] { ... }`"},
		{name: "shared redis without address", input: "llm_router {\nshared redis {\ndb 1\n}\n}", wantErr: "shared redis: address is required"},
		{name: "shared redis unknown setting", input: "llm_router {\nshared redis :6379 {\npool 10\n}\n}", wantErr: `unrecognized shared redis setting "pool"`},
		{name: "shared redis bad db", input: "llm_router {\nshared redis :6379 {\ndb -1\n}\n}", wantErr: `db: want a database number of 0 or more, got "-1"`},
		{name: "shared redis bad timeout", input: "llm_router {\nshared redis :6379 {\ntimeout fast\n}\n}", wantErr: `timeout: invalid duration "fast"`},
		{name: "retries zero", input: "llm_router {\nretries 0\n}", want: LLMRouter{Retries: ptr(0)}},
		{name: "exploration off", input: "llm_router {\nexploration 0\n}", want: LLMRouter{Exploration: ptr(0.0)}},
		{name: "exploration share", input: "llm_router {\nexploration 0.1\n}", want: LLMRouter{Exploration: ptr(0.1)}},
		{name: "cooldown base only", input: "llm_router {\ncooldown 1s\n}", want: LLMRouter{CooldownBase: caddy.Duration(time.Second)}},
		{name: "bad exploration", input: "llm_router {\nexploration 1.5\n}", wantErr: `exploration: want a share from 0 to 1`},
		{name: "bad exploration percent", input: "llm_router {\nexploration 150%\n}", wantErr: `exploration: want a share from 0 to 1`},
		{name: "bad half_life", input: "llm_router {\nhalf_life never\n}", wantErr: `half_life: invalid duration "never"`},
		{name: "bad stale_after", input: "llm_router {\nstale_after 0s\n}", wantErr: `stale_after: invalid duration "0s"`},
		{name: "bad quota_cooldown", input: "llm_router {\nquota_cooldown x\n}", wantErr: `quota_cooldown: invalid duration "x"`},
		{name: "bad cooldown", input: "llm_router {\ncooldown 1s soon\n}", wantErr: `cooldown: invalid duration "soon"`},
		{name: "cooldown three args", input: "llm_router {\ncooldown 1s 2s 3s\n}", wantErr: "wrong argument count"},
		{name: "bad failure_threshold", input: "llm_router {\nfailure_threshold 0\n}", wantErr: `failure_threshold: want a whole number of 1 or more, got "0"`},
		{name: "inline argument", input: `llm_router foo`, wantErr: "wrong argument count"},
		{name: "unknown subdirective", input: "llm_router {\nspeed fast\n}", wantErr: `unrecognized llm_router subdirective "speed"`},
		{name: "routing without value", input: "llm_router {\nrouting\n}", wantErr: "wrong argument count"},
		{name: "routing two values", input: "llm_router {\nrouting perf price\n}", wantErr: "wrong argument count"},
		{name: "bad size", input: "llm_router {\nmax_request_body lots\n}", wantErr: `max_request_body: invalid size "lots"`},
		{name: "zero size", input: "llm_router {\nmax_request_body 0\n}", wantErr: `max_request_body: invalid size "0"`},
		{name: "bad write buffer", input: "llm_router {\nwrite_buffer big\n}", wantErr: `write_buffer: invalid size "big"`},
		{name: "zero write buffer", input: "llm_router {\nwrite_buffer 0\n}", wantErr: `write_buffer: invalid size "0"`},
		{name: "huge write buffer", input: "llm_router {\nwrite_buffer 1GiB\n}", wantErr: `write_buffer: invalid size "1GiB"`},
		{name: "bad duration", input: "llm_router {\nttft_timeout soon\n}", wantErr: `ttft_timeout: invalid duration "soon"`},
		{name: "negative duration", input: "llm_router {\nttft_timeout -1s\n}", wantErr: `ttft_timeout: invalid duration "-1s"`},
		{name: "bad retries", input: "llm_router {\nretries -1\n}", wantErr: `retries: want a whole number of 0 or more, got "-1"`},
		{name: "vendor without id", input: "llm_router {\nvendor {\n}\n}", wantErr: "vendor: want <id> [<kind>]"},
		{name: "vendor too many args", input: "llm_router {\nvendor a b c\n}", wantErr: "vendor: want <id> [<kind>]"},
		{name: "unknown vendor subdirective", input: "llm_router {\nvendor openai {\nzone us\n}\n}", wantErr: `vendor openai: unrecognized subdirective "zone"`},
		{name: "bad max_tokens", input: "llm_router {\nvendor anthropic {\nmax_tokens 0\n}\n}", wantErr: `vendor anthropic: max_tokens: want a whole number of 1 or more, got "0"`},
		{name: "header needs two args", input: "llm_router {\nvendor openai {\nheader X-A\n}\n}", wantErr: "wrong argument count"},
		{name: "model without name", input: "llm_router {\nvendor openai {\nmodel\n}\n}", wantErr: "wrong argument count"},
		{name: "model option without value", input: "llm_router {\nvendor openai {\nmodel m input\n}\n}", wantErr: "model m: input needs a value"},
		{name: "model unknown option", input: "llm_router {\nvendor openai {\nmodel m price 3\n}\n}", wantErr: `model m: unknown option "price"`},
		{name: "model price not a number", input: "llm_router {\nvendor openai {\nmodel m output cheap\n}\n}", wantErr: `model m: output price "cheap" is not a number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got LLMRouter
			err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.input))
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

// Provisioning names the vendor and field at fault.
func TestProvisionErrors(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_EMPTY", "")
	models := []ModelConfig{{Name: "m"}}
	cases := []struct {
		name    string
		router  LLMRouter
		wantErr string
	}{
		{"unknown kind", LLMRouter{Vendors: []VendorConfig{{ID: "v", Kind: "acme", APIKey: "k", Models: models}}},
			`vendor "v": kind: unknown kind "acme"`},
		{"id is not a kind and no kind", LLMRouter{Vendors: []VendorConfig{{ID: "mine", APIKey: "k", Models: models}}},
			`vendor "mine": kind: required because "mine" is not a known kind`},
		{"duplicate id", LLMRouter{Vendors: []VendorConfig{
			{ID: "openai", APIKey: "k", Models: models}, {ID: "OpenAI", Kind: "openai", APIKey: "k", Models: models}}},
			`vendor "OpenAI": duplicate vendor id`},
		{"missing id", LLMRouter{Vendors: []VendorConfig{{Kind: "openai", APIKey: "k", Models: models}}},
			`vendor #1: id is required`},
		{"reserved id", LLMRouter{Vendors: []VendorConfig{{ID: "auto", Kind: "openai", APIKey: "k", Models: models}}},
			`vendor "auto": id "auto" is reserved`},
		{"missing key", LLMRouter{Vendors: []VendorConfig{{ID: "openai", Models: models}}},
			`vendor "openai": api_key`},
		{"key placeholder resolves empty", LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "{env.LLM_ROUTER_TEST_EMPTY}", Models: models}}},
			`({env.LLM_ROUTER_TEST_EMPTY} resolved to an empty value)`},
		{"azure needs base_url", LLMRouter{Vendors: []VendorConfig{{ID: "azure", APIKey: "k", Models: models}}},
			`vendor "azure": base_url`},
		{"compatible needs base_url", LLMRouter{Vendors: []VendorConfig{{ID: "local", Kind: "openai_compatible", Models: models}}},
			`vendor "local": base_url`},
		{"bad url", LLMRouter{Vendors: []VendorConfig{{ID: "openai", BaseURL: "ftp://example.com", APIKey: "k", Models: models}}},
			`vendor "openai": base_url`},
		{"url without host", LLMRouter{Vendors: []VendorConfig{{ID: "openai", BaseURL: "https:///v1", APIKey: "k", Models: models}}},
			`vendor "openai": base_url`},
		{"negative price", LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k",
			Models: []ModelConfig{{Name: "m", OutputPrice: ptr(-1.0)}}}}},
			`vendor "openai": model "m": output price must be a number of 0 or more`},
		{"no models", LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k"}}},
			`vendor "openai": models: at least one model is required`},
		{"model without name", LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k", Models: []ModelConfig{{}}}}},
			`vendor "openai": model: name is required`},
		{"model twice", LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k", Models: []ModelConfig{{Name: "m"}, {Name: "m"}}}}},
			`vendor "openai": model "m": declared twice`},
		{"unknown routing", LLMRouter{Routing: "fastest"}, `routing: unknown strategy "fastest"`},
		{"negative retries", LLMRouter{Retries: ptr(-2)}, `retries: must be 0 or more`},
		{"negative write buffer", LLMRouter{WriteBufferSize: -1}, `write_buffer_size: must be between 1 and 16777216 bytes, got -1`},
		{"huge write buffer", LLMRouter{WriteBufferSize: 1 << 30}, `write_buffer_size: must be between 1 and 16777216 bytes`},
		{"cooldown max below base", LLMRouter{CooldownBase: caddy.Duration(time.Minute), CooldownMax: caddy.Duration(time.Second)},
			`cooldown_max`},
		{"exploration above 1", LLMRouter{Exploration: ptr(1.5)}, `exploration`},
		{"negative half_life", LLMRouter{HalfLife: caddy.Duration(-time.Second)}, `half_life`},
		{"negative failure_threshold", LLMRouter{FailureThreshold: -1}, `failure_threshold`},
		{"unknown ledger backend", LLMRouter{Ledger: &LedgerConfig{Backend: "mysql"}}, `ledger: unknown backend "mysql"`},
		{"postgres ledger without dsn", LLMRouter{Ledger: &LedgerConfig{Backend: "postgres"}}, `ledger: postgres needs a dsn`},
		{"sqlite ledger with a dsn", LLMRouter{Ledger: &LedgerConfig{Backend: "sqlite", DSN: "postgres://x"}}, `ledger: dsn is a postgres setting`},
		{"negative ledger retention", LLMRouter{Ledger: &LedgerConfig{Retention: caddy.Duration(-time.Hour)}}, `ledger: retention: must be positive`},
		{"shared redis without address", LLMRouter{Shared: &SharedConfig{Redis: &RedisConfig{}}}, `shared redis: address is required`},
		{"unknown probe mode", LLMRouter{Vendors: []VendorConfig{{ID: "openai", APIKey: "k", Models: models, Probe: "sometimes"}}},
			`vendor "openai": probe: unknown mode "sometimes" (want off, models or completion)`},
		{"models probe on a kind without one", LLMRouter{Vendors: []VendorConfig{{ID: "volcengine", APIKey: "k", Models: models, Probe: "models"}}},
			`vendor "volcengine": probe: kind volcengine has no free metadata call: use completion or off`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			err := c.router.Provision(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.wantErr)
		})
	}
}

// Keys never appear in provisioning errors, even when the vendor is broken.
func TestProvisionErrorsDoNotLeakKeys(t *testing.T) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	r := LLMRouter{Vendors: []VendorConfig{{ID: "openai", BaseURL: "not a url", APIKey: "sk-live-very-secret", Models: []ModelConfig{{Name: "m"}}}}}
	err := r.Provision(ctx)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sk-live-very-secret")
}
