package llmrouter_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// ArtifactsEnv names the directory where the browser test saves its
// screenshots; default: llmrouter-artifacts under the system's temporary
// directory.
const ArtifactsEnv = "LLMROUTER_ARTIFACTS"

// chromiumPath finds Debian's chromium, or skips (fails in CI, where
// .ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed: the dashboard's browser test needs it (apt-get install chromium, or run .ci/run, which installs it)"
	if testservices.InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is a headless Chromium tab with a fresh profile, which records
// every console message and every URL the page asks for.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	console  []string // console errors and warnings, exceptions, browser log errors
	requests []string // every URL requested
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	require.NoError(t, chromedp.Do(ctx)) // starts the browser and opens the tab
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.requests = append(b.requests, ev.Request.URL)
		}
	}))
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				b.mu.Lock()
				b.console = append(b.console, m.String()+" at "+m.URL)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// open navigates to pageURL as if from a link on referrer ("" for a typed
// URL) and waits for the dashboard to have drawn its data.
func (b *browser) open(t *testing.T, pageURL, referrer string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: pageURL, Referrer: referrer})
		if err == nil && res.ErrorText != "" {
			err = fmt.Errorf("navigating to %s: %s", pageURL, res.ErrorText)
		}
		return err
	})))
	b.waitFor(t, `document.querySelectorAll("#routes tr[data-vendor]").length > 0 &&
		document.querySelector("#spend").childElementCount > 0`)
}

// waitFor polls a JavaScript condition until it holds (10 s at most). It
// evaluates it afresh each time, from Go: a navigation replaces the page's
// JavaScript context, which an in-page poll would not survive.
func (b *browser) waitFor(t *testing.T, cond string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (last error: %v); console: %v", cond, err, b.consoleMessages())
}

// eval evaluates a JavaScript expression into a gjson result.
func (b *browser) eval(t *testing.T, expr string) gjson.Result {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify(`+expr+`)`))
	require.NoError(t, err, expr)
	return gjson.Parse(v)
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "llmrouter-artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

func (b *browser) consoleMessages() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

func (b *browser) requestedURLs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// scrapeDashboard reads what the page shows, from its DOM and its charts.
const scrapeDashboard = `(() => {
	const text = (e, sel) => (e.querySelector(sel) || {}).textContent;
	const ttft = llmDashboard.charts.ttft;
	return {
		routes: [...document.querySelectorAll("#routes tr[data-vendor]")].map((tr) => ({
			model: tr.dataset.model, vendor: tr.dataset.vendor,
			breaker: text(tr, ".breaker"), successes: text(tr, ".successes"), failures: text(tr, ".failures"),
			ranks: Object.fromEntries([...tr.querySelectorAll("td.rank[data-strategy]")].map((td) => [td.dataset.strategy, td.textContent])),
		})),
		ttft: ttft ? { model: document.getElementById("ttft-model").value,
			series: ttft.plot.series.slice(1).map((s) => s.label), data: ttft.plot.data.slice(1) } : null,
		decisions: [...document.querySelectorAll("#decisions tr[data-request-id]")].map((tr) => ({
			id: tr.dataset.requestId, served: text(tr, ".served"), attempts: text(tr, ".attempts"), failed: text(tr, ".failed") })),
		clients: [...document.querySelectorAll("#spend-by-client tr[data-key]")].map((tr) => ({ key: tr.dataset.key, requests: tr.children[1].textContent })),
		models: [...document.querySelectorAll("#spend-by-model tr[data-key]")].map((tr) => ({ key: tr.dataset.key, requests: tr.children[1].textContent })),
		spendChart: llmDashboard.charts.spend ? llmDashboard.charts.spend.plot.data : null,
		limits: [...document.querySelectorAll("#limits tr[data-client]")].map((tr) => ({ client: tr.dataset.client, kind: tr.dataset.kind, used: text(tr, ".used") })),
		html: document.documentElement.outerHTML,
	};
})()`

// The dashboard in a real browser, against a router that has served
// traffic: it shows what the JSON endpoints report, the open breaker, the
// failover; it logs no error, asks no other host for anything, fits a
// narrow window and refreshes by itself.
func TestDashboardInBrowser(t *testing.T) {
	b := newBrowser(t)
	modelA, modelB := startDashboardRouter(t, "dash-browser")

	// Before any traffic: the routes, and empty states that say what will come.
	b.open(t, routerURL+"/dash/", "")
	assert.Contains(t, b.eval(t, `document.querySelector("#ttft .empty").textContent`).String(), "No latency measured")
	assert.Equal(t, "closed", b.eval(t, fmt.Sprintf(`document.querySelector('#routes tr[data-model=%q][data-vendor="broken"] .breaker').textContent`, modelA)).String())

	// The traffic shows up without a reload: stats refresh by themselves,
	// spend when the range changes (or every 30 s).
	clientName := sendDashboardTraffic(t, modelA, modelB)
	_, statsBody := getDashboard(t, routerURL+"/dash/stats")
	stats := gjson.Parse(statsBody)
	id := stats.Get(fmt.Sprintf(`decisions.#(model==%q).request_id`, modelA)).String()
	b.waitFor(t, fmt.Sprintf(`document.querySelector('#decisions tr[data-request-id=%q]') !== null`, id))
	b.eval(t, `(document.getElementById("spend-to").dispatchEvent(new Event("change")), 1)`)
	b.waitFor(t, fmt.Sprintf(`document.querySelector('#spend-by-client tr[data-key=%q]') !== null`, clientName))
	// The TTFT chart of the model with three vendors.
	b.eval(t, fmt.Sprintf(`(() => { const s = document.getElementById("ttft-model"); s.value = %q; s.dispatchEvent(new Event("change")); return 1; })()`, modelA))
	shown := b.eval(t, scrapeDashboard)

	// Routes: every route of the JSON, with its counts, breaker and ranks.
	routes := stats.Get("routes").Array()
	require.Len(t, shown.Get("routes").Array(), len(routes), shown.Get("routes").Raw)
	for _, rt := range routes {
		vendor, model := rt.Get("vendor").String(), rt.Get("model").String()
		row := shown.Get(fmt.Sprintf(`routes.#(vendor==%q)#|#(model==%q)`, vendor, model))
		require.True(t, row.Exists(), "no row for %s/%s", vendor, model)
		assert.Equal(t, rt.Get("successes").String(), row.Get("successes").String(), "%s/%s", vendor, model)
		assert.Equal(t, rt.Get("failures").String(), row.Get("failures").String(), "%s/%s", vendor, model)
		assert.True(t, strings.HasPrefix(row.Get("breaker").String(), rt.Get("breaker").String()), row.Raw)
		for _, r := range stats.Get(fmt.Sprintf(`models.#(model==%q).rankings`, model)).Array() {
			pos := 0
			for i, v := range r.Get("vendors").Array() {
				if v.Get("vendor").String() == vendor {
					pos = i + 1
				}
			}
			assert.Equal(t, fmt.Sprintf("#%d", pos), row.Get("ranks."+r.Get("routing").String()).String(), "%s/%s %s", vendor, model, r.Get("routing"))
		}
	}
	broken := shown.Get(fmt.Sprintf(`routes.#(vendor=="broken")#|#(model==%q)`, modelA))
	assert.Regexp(t, `^open \(rate limit\) · closes in \d+m \d+s$`, broken.Get("breaker").String(), "the 429 opened the breaker, and the page says why")

	// The TTFT chart holds each vendor's learned TTFT per bucket.
	ttft := shown.Get("ttft")
	require.Equal(t, modelA, ttft.Get("model").String(), ttft.Raw)
	var vendorsA []string
	for _, rt := range routes {
		if rt.Get("model").String() == modelA {
			vendorsA = append(vendorsA, rt.Get("vendor").String())
		}
	}
	require.Equal(t, vendorsA, toStrings(ttft.Get("series").Array()))
	for i, vendor := range vendorsA {
		buckets := stats.Get(fmt.Sprintf(`routes.#(vendor==%q)#|#(model==%q).buckets`, vendor, modelA)).Array()
		points := ttft.Get(fmt.Sprintf("data.%d", i)).Array()
		require.Len(t, points, len(buckets))
		for j, bk := range buckets {
			if bk.Get("samples").Int() == 0 {
				assert.Equal(t, gjson.Null, points[j].Type, "%s bucket %d has no samples", vendor, j)
			} else {
				assert.InDelta(t, bk.Get("ttft_ms").Float(), points[j].Float(), 1e-6, "%s bucket %d", vendor, j)
			}
		}
	}
	assert.Positive(t, stats.Get(fmt.Sprintf(`routes.#(vendor=="fast")#|#(model==%q).buckets.0.samples`, modelA)).Int(), "traffic measured")

	// The failover, with its attempts and reasons.
	d := shown.Get(fmt.Sprintf(`decisions.#(id==%q)`, id))
	require.True(t, d.Exists(), shown.Get("decisions").Raw)
	assert.Equal(t, "steady", d.Get("served").String())
	assert.Equal(t, "2", d.Get("attempts").String())
	assert.Contains(t, d.Get("failed").String(), "broken 429 rate_limited")

	// Spend per client and per model, and the limits.
	assert.Equal(t, "9", shown.Get(fmt.Sprintf(`clients.#(key==%q).requests`, clientName)).String(), shown.Get("clients").Raw)
	assert.Equal(t, "5", shown.Get(fmt.Sprintf(`models.#(key==%q).requests`, modelA)).String(), shown.Get("models").Raw)
	assert.Equal(t, "4", shown.Get(fmt.Sprintf(`models.#(key==%q).requests`, modelB)).String())
	assert.NotEmpty(t, shown.Get("spendChart.1").Array(), "the spend chart has days")
	assert.Equal(t, "9 / 1,000", shown.Get(fmt.Sprintf(`limits.#(client==%q)#|#(kind=="requests").used`, clientName)).String(),
		shown.Get("limits").Raw)

	assert.NotContains(t, shown.Get("html").String(), dashboardKey, "no vendor key on the page")
	b.screenshot(t, "dashboard.png")

	// The filter box keeps only what matches.
	_, err := chromedp.Run(b.ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "beta"))
	require.NoError(t, err)
	filtered := b.eval(t, scrapeDashboard)
	require.NotEmpty(t, filtered.Get("routes").Array())
	for _, row := range filtered.Get("routes").Array() {
		assert.Equal(t, modelB, row.Get("model").String())
	}

	// A narrow window: nothing wider than the screen but the scrolling tables.
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(380, 800)))
	b.waitFor(t, "document.documentElement.scrollWidth <= window.innerWidth")
	b.screenshot(t, "dashboard-narrow.png")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 1000)))

	// The admin endpoint's page, opened from a link on the admin origin:
	// Caddy refuses a browser's request there without an Origin or Referer.
	b.open(t, "http://localhost:2999/llm_router/", "http://localhost:2999/")
	admin := b.eval(t, scrapeDashboard)
	assert.Len(t, admin.Get("routes").Array(), len(routes))

	assert.Empty(t, b.consoleMessages(), "console errors")
	for _, u := range b.requestedURLs() {
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		if parsed.Scheme == "data" {
			continue // the browser's own icons (the date picker's): no request
		}
		assert.Contains(t, []string{"127.0.0.1:9080", "localhost:2999"}, parsed.Host, "the page asked another host: %s", u)
	}
}

func toStrings(rs []gjson.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}
