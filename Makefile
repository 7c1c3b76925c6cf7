# The project's commands. `make test` is what CI runs (.ci/run).

.PHONY: test fuzz demo build lint bench

# Unit and integration tests (Caddy in-process, fake vendors on 127.0.0.1),
# then the end-to-end module (official OpenAI Go SDK, OpenAPI conformance).
test:
	go test -race -count=1 ./...
	cd e2e && go test -race -count=1 ./...
	FUZZTIME=3s scripts/fuzz.sh '^Fuzz(Object|Stream|AnthropicStream|BedrockStream|GeminiStream|NativeCompletions|TranslateError|EstimatePromptTokens|SkipString|ReadUsage|ResponsesRequest|ResponsesStream|ResponsesNativeStream|MessagesChatRequest|MessagesEvents|MessagesStream|Assembler)$$'

# Every fuzz target, longer. The two root-package targets (FuzzInspect,
# FuzzCaddyfile) are left out of `make test` because their instrumented build
# includes all of Caddy; their seed corpora still run there as plain tests.
fuzz:
	FUZZTIME=30s scripts/fuzz.sh

# A working router with fake vendors on loopback; no API keys needed.
demo:
	go run ./examples/demo

# A caddy binary with llm_router built in.
build:
	go build -o caddy ./cmd/caddy

lint:
	gofmt -l . | (! grep .)
	go vet ./...
	cd e2e && go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.7.0 ./...

bench:
	go test -run '^$$' -bench . -benchmem ./selector/ ./vendors/ ./internal/ledger/ ./internal/sharedstate/ .
