package llmrouter

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportedMetricNames returns the names the router's collectors export, as
// a query names them: a histogram as its _bucket, _sum and _count series.
func exportedMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	require.NoError(t, initMetrics(nil))
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := make(map[string]bool)
	for _, c := range routerCollectors() {
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			require.NotNil(t, m, d.String())
			if _, histogram := c.(*prometheus.HistogramVec); histogram {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					names[m[1]+suffix] = true
				}
				continue
			}
			names[m[1]] = true
		}
	}
	return names
}

// promQLNoise matches what in a PromQL expression is not a metric name:
// strings, label matchers, ranges, grouping clauses and dashboard variables.
var promQLNoise = regexp.MustCompile(`"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|\$\w+`)

// promQLName matches an identifier and whether a "(" follows it (a function).
var promQLName = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(?)`)

var promQLKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// metricNames returns the metric names a PromQL expression reads.
func metricNames(expr string) []string {
	var out []string
	for _, m := range promQLName.FindAllStringSubmatch(promQLNoise.ReplaceAllString(expr, " "), -1) {
		if m[2] == "(" || promQLKeywords[m[1]] {
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// queries returns every query of a Grafana dashboard: panels' expr and the
// template variables' definitions, at any depth (rows nest panels).
func queries(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
				out = append(out, s)
				continue
			}
			out = append(out, queries(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, queries(x)...)
		}
	}
	return out
}

// promQLOf returns the PromQL of a dashboard query: a template variable's
// label_values(<series>, <label>) reads <series>.
func promQLOf(q string) string {
	if inner, ok := strings.CutPrefix(q, "label_values("); ok {
		if i := strings.LastIndex(inner, ","); i >= 0 {
			return inner[:i]
		}
		return strings.TrimSuffix(inner, ")")
	}
	return q
}

// Every metric the Grafana example's queries read is one the router exports,
// and the dashboard covers the metrics issue 16 lists.
func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	exported := exportedMetricNames(t)
	raw, err := os.ReadFile("examples/grafana/llm-router-dashboard.json")
	require.NoError(t, err)
	var dash any
	require.NoError(t, json.Unmarshal(raw, &dash))

	used := make(map[string]bool)
	qs := queries(dash)
	require.NotEmpty(t, qs)
	for _, q := range qs {
		names := metricNames(promQLOf(q))
		require.NotEmpty(t, names, "no metric in %q", q)
		for _, name := range names {
			used[name] = true
			assert.True(t, exported[name], "the dashboard queries %s, which the router does not export (query %q)", name, q)
		}
	}
	for _, want := range []string{"caddy_llm_router_requests_total", "caddy_llm_router_failovers_total",
		"caddy_llm_router_ttft_seconds_bucket", "caddy_llm_router_tokens_total", "caddy_llm_router_cost_usd_total",
		"caddy_llm_router_breaker_state"} {
		assert.True(t, used[want], "the dashboard does not show %s", want)
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("metrics used: %s", strings.Join(names, ", "))
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.95, sum by (le, vendor) (rate(a_bucket{model=~"$model"}[$__rate_interval])))`: {"a_bucket"},
		`sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) * 3600`:                                              {"a_sum", "a_count"},
		`min(up_metric) and on (job) other`:                                                                 {"up_metric", "other"},
		promQLOf(`label_values(caddy_x{vendor="a"}, model)`):                                                {"caddy_x"},
	} {
		got := metricNames(expr)
		assert.True(t, slices.Equal(want, got), "%s: want %v, got %v", expr, want, got)
	}
}
