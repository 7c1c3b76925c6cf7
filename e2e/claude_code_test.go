package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
)

// claudeCodeVersion is the Claude Code release scripts/install-clients.sh
// installs (.ci/run runs it).
const claudeCodeVersion = "2.1.197"

// claudeCodeBinary finds Claude Code: $CLAUDE_CODE_BIN, else `claude` on the
// PATH, else the copy scripts/install-clients.sh installed from the npm
// registry into the user's cache directory. The test installs nothing
// itself (no test reaches a network), and skips when there is none.
func claudeCodeBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CLAUDE_CODE_BIN"); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("claude"); err == nil {
		return bin
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("Claude Code: no cache directory: %v", err)
	}
	bin := filepath.Join(cache, "llmrouter-e2e", "claude-code-"+claudeCodeVersion, "node_modules", ".bin", "claude")
	if _, err := os.Stat(bin); err != nil {
		t.Skip("Claude Code is not installed: run scripts/install-clients.sh (or set CLAUDE_CODE_BIN)")
	}
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err != nil {
		t.Skipf("Claude Code does not run here (%v): %s", err, out)
	}
	return bin
}

// seenRequest is one request Claude Code sent, and the router's status.
type seenRequest struct {
	method, path, query string
	header              http.Header
	status              int
}

// recorder stands between Claude Code and the router, recording what Claude
// Code sends and what the router answers.
type recorder struct {
	mu   sync.Mutex
	seen []seenRequest
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Flush()               { http.NewResponseController(w.ResponseWriter).Flush() } //nolint:errcheck

func (rec *recorder) handler(target *url.URL) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		rec.mu.Lock()
		rec.seen = append(rec.seen, seenRequest{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), status: sw.status})
		rec.mu.Unlock()
	})
}

func (rec *recorder) requests() []seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seenRequest(nil), rec.seen...)
}

// runClaudeCode runs `claude -p prompt` against baseURL as its users point
// it at a gateway, with nothing that would reach another host.
func runClaudeCode(t *testing.T, bin, baseURL, model, prompt string) (string, error) {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", prompt, "--model", model, "--output-format", "json")
	cmd.Dir = home
	cmd.Env = []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"CLAUDE_CONFIG_DIR=" + filepath.Join(home, ".claude"),
		"ANTHROPIC_BASE_URL=" + baseURL,
		"ANTHROPIC_API_KEY=" + clientKey,
		// Claude Code's background model (titles, summaries): served too.
		"ANTHROPIC_DEFAULT_HAIKU_MODEL=claude-code-small",
		"ANTHROPIC_SMALL_FAST_MODEL=claude-code-small",
		// Nothing but the router: no telemetry, error reports, updates.
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_BUG_COMMAND=1",
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Claude Code against the router, as its users run it (ANTHROPIC_BASE_URL,
// print mode), with Claude served by an anthropic vendor and, for another
// model, translated to an OpenAI-compatible vendor: every request it sends
// is served, and the answer is the vendor's.
func TestClaudeCode(t *testing.T) {
	bin := claudeCodeBinary(t)
	claude := fakevendor.StartAnthropic(t, fakevendor.AnthropicOptions{Reply: "Hello from the router's Claude.",
		InputTokens: 900, OutputTokens: 7, RequireKey: "sk-ant-vendor"})
	gpt := startFakeWith(t, &fakeVendor{name: "gpt", reply: "Hello from GPT behind the router."})
	startRouter(t, router(nil,
		"vendor anthropic {\n\t\tbase_url "+claude.URL()+"\n\t\tapi_key sk-ant-vendor\n\t\tmodel claude-code-main as claude-sonnet-4-5\n\t\tmodel claude-code-small as claude-haiku-4-5\n\t}\n",
		vendor("gpt", gpt, "gpt-code"),
	))
	target, _ := url.Parse(routerURL)
	rec := &recorder{}
	front := httptest.NewServer(rec.handler(target))
	t.Cleanup(front.Close)

	out, err := runClaudeCode(t, bin, front.URL, "claude-code-main", "Say hello.")
	require.NoError(t, err, out)
	t.Logf("claude -p output: %s", out)
	assert.Equal(t, "Hello from the router's Claude.", gjson.Get(lastJSONLine(out), "result").String(), out)

	seen := rec.requests()
	require.NotEmpty(t, seen)
	var messages int
	for _, s := range seen {
		t.Logf("Claude Code sent %s %s?%s (anthropic-beta %q, anthropic-version %q): router answered %d",
			s.method, s.path, s.query, s.header.Get("Anthropic-Beta"), s.header.Get("Anthropic-Version"), s.status)
		if s.method == http.MethodHead && !strings.HasPrefix(s.path, "/v1/") {
			// A preconnect to the base URL, whose answer Claude Code
			// ignores; outside the router's prefix it is the site's.
			continue
		}
		assert.Less(t, s.status, 400, "%s %s", s.method, s.path)
		if s.path == "/v1/messages" {
			assert.Equal(t, "2023-06-01", s.header.Get("Anthropic-Version"))
			// What Claude Code asked for reaches Claude as it was sent.
			require.Greater(t, len(claude.Requests()), messages)
			got := claude.Requests()[messages]
			assert.Equal(t, s.header.Get("Anthropic-Beta"), got.Header.Get("Anthropic-Beta"))
			assert.Equal(t, "sk-ant-vendor", got.Header.Get("X-Api-Key"), "the router's key, not the client's")
			messages++
		}
	}
	assert.Positive(t, messages)

	// The same client, a model served by a vendor that speaks chat
	// completions: translated both ways.
	out, err = runClaudeCode(t, bin, front.URL, "gpt-code", "Say hello.")
	require.NoError(t, err, out)
	assert.Equal(t, "Hello from GPT behind the router.", gjson.Get(lastJSONLine(out), "result").String(), out)
	paths := map[string]bool{}
	for _, s := range rec.requests() {
		paths[s.method+" "+s.path] = true
	}
	var list []string
	for p := range paths {
		list = append(list, p)
	}
	sort.Strings(list)
	t.Logf("paths Claude Code used: %s", strings.Join(list, ", "))
}

// lastJSONLine is the last line of out that is a JSON object (print mode's
// result, after anything else the CLI wrote).
func lastJSONLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); gjson.Valid(l) && strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}
