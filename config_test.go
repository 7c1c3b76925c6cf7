package llmrouter_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// Keys come from {env.*} placeholders resolved at load time; the operator's
// extra headers reach the vendor; a custom vendor header pins and is never
// forwarded.
func TestPlaceholdersHeadersAndCustomVendorHeader(t *testing.T) {
	t.Setenv("LLM_ROUTER_TEST_KEY", "sk-from-env")
	t.Setenv("LLM_ROUTER_TEST_ORG", "org-from-env")
	one := fakevendor.Start(t, fakevendor.Options{Name: "one", RequireKey: "sk-from-env"})
	two := fakevendor.Start(t, fakevendor.Options{Name: "two"})
	startRouter(t, routerBlock([]string{"vendor_header X-Route-Vendor"},
		vendorBlock("one", "openai", one.URL(), "{env.LLM_ROUTER_TEST_KEY}",
			"header OpenAI-Organization {env.LLM_ROUTER_TEST_ORG}", "header X-Team llm-platform", "model env-model"),
		vendorBlock("two", "openai_compatible", two.URL(), "", "model env-model"),
	))

	resp, body := chat(t, "env-model", "", "X-Route-Vendor", "one", "OpenAI-Organization", "org-of-client")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "one", resp.Header.Get("X-LLM-Vendor"))
	got := one.Requests()[0]
	assert.Equal(t, "Bearer sk-from-env", got.Header.Get("Authorization"))
	assert.Equal(t, []string{"org-from-env"}, got.Header.Values("OpenAI-Organization"))
	assert.Equal(t, "llm-platform", got.Header.Get("X-Team"))
	assert.Empty(t, got.Header.Get("X-Route-Vendor"))

	resp, _ = chat(t, "env-model", "", "X-Route-Vendor", "two")
	assert.Equal(t, "two", resp.Header.Get("X-LLM-Vendor"))
	assert.Empty(t, two.Requests()[0].Header.Get("X-Team"), "extra headers belong to their vendor only")
	assert.Empty(t, two.Requests()[0].Header.Get("Authorization"), "openai_compatible without a key sends none")

	// with a custom header name, a "vendor" header is just another header
	resp, body = chat(t, "env-model", "", "vendor", "nobody")
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
}

// The JSON config is the documented struct: the same router works when loaded
// as JSON, as an operator using Caddy's API would.
func TestJSONConfig(t *testing.T) {
	a := fakevendor.Start(t, fakevendor.Options{Name: "a"})
	b := fakevendor.Start(t, fakevendor.Options{Name: "b"})
	tester := testservices.NewCaddyTester(t)
	tester.InitServer(fmt.Sprintf(`{
	"admin": {"listen": "localhost:2999"},
	"apps": {
		"pki": {"certificate_authorities": {"local": {"install_trust": false}}},
		"http": {
			"http_port": %d,
			"servers": {"srv0": {
				"listen": [":%d"],
				"routes": [{"handle": [{
					"handler": "llm_router",
					"routing": "price",
					"max_request_body": 65536,
					"write_buffer_size": 131072,
					"ttft_timeout": "5s",
					"retries": 1,
					"vendors": [
						{"id": "a", "kind": "openai_compatible", "base_url": %q,
						 "models": [{"name": "json-model", "vendor_model": "a-model", "input_price": 3, "output_price": 6}]},
						{"id": "b", "kind": "openai_compatible", "base_url": %q,
						 "models": [{"name": "json-model", "input_price": 1, "output_price": 2, "cached_input_price": 0.5}]}
					]
				}]}]
			}}
		}
	}
}`, routerPort, routerPort, a.URL(), b.URL()), "json")
	require.False(t, t.Failed())

	resp, body := chat(t, "json-model", "")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "b", resp.Header.Get("X-LLM-Vendor"), "price routing from the JSON config")
	assert.Equal(t, "price", resp.Header.Get("X-LLM-Routing"))

	resp, body = chat(t, "json-model", "", "vendor", "a")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "a-model", gjson.GetBytes(a.Requests()[0].Body, "model").String())
}

// A config the router cannot provision is refused whole, with the vendor and
// field named, and the running config stays in place.
func TestInvalidConfigIsRefused(t *testing.T) {
	assertVendorRefused(t, `vendor acme {
			model m
		}`, `vendor \"acme\": kind: required because \"acme\" is not a known kind`)
}

// A setting the vendor's kind does not use is a config error naming the
// vendor and the setting, not something silently ignored.
func TestUnusedVendorSettingIsRefused(t *testing.T) {
	assertVendorRefused(t, `vendor openai {
			api_key sk-test
			region us-east-1
			model m
		}`, `vendor \"openai\": region: is not used by kind \"openai\" (kinds that use it: aws, vertex)`)
}

// assertVendorRefused loads a Caddyfile whose llm_router has the vendor
// block vendor, and checks that loading fails with wantErr.
func assertVendorRefused(t *testing.T, vendor, wantErr string) {
	t.Helper()
	caddytest.AssertLoadError(t, `{
	skip_install_trust
	admin localhost:2999
	http_port 9080
}
:9080 {
	llm_router {
		`+vendor+`
	}
}`, "caddyfile", wantErr)
}
