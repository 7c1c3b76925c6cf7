// Package e2e holds the end-to-end tests of llm_router, kept in a module of
// their own so that the router's module does not depend on the OpenAI Go SDK
// or on an OpenAPI validator.
//
// The tests start Caddy in-process (caddytest, admin on localhost:2999, the
// site on 127.0.0.1:9180) with llm_router in front of small fake
// OpenAI-compatible vendors, then:
//
//   - drive it with the official OpenAI Go SDK (github.com/openai/openai-go/v3):
//     chat completions, streaming with the SDK's accumulator, the model list,
//     a pinned vendor and an API error (sdk_test.go);
//   - check that every response the router produces, errors included,
//     validates against the OpenAI OpenAPI spec in testdata/ (conformance_test.go).
//
// Run them from this directory:
//
//	go test -count=1 ./...
package e2e
