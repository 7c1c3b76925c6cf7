package llmrouter

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-llm/llmrouter/selector"
)

// routeSeries caches a route's Prometheus series, each looked up on its first
// use: a Vec's WithLabelValues hashes the labels and takes a lock on every
// call, and a successful request counts six series. A series appears in the
// exposition only once it has been used, as it did without the cache.
type routeSeries struct {
	ttft     atomic.Pointer[prometheus.Observer]
	tokens   [2][3]atomic.Pointer[prometheus.Counter]                   // [billing][token type]
	cost     [2]atomic.Pointer[prometheus.Counter]                      // [billing]
	requests [selector.MaxStrategies]atomic.Pointer[prometheus.Counter] // outcome="success", by strategy
}

var (
	billingLabels   = [2]string{billable, absorbed}
	tokenTypeLabels = [3]string{"prompt", "cached_prompt", "completion"}
)

// billingIndex is the index of a billing label in routeSeries.
func billingIndex(billing string) int {
	if billing == absorbed {
		return 1
	}
	return 0
}

// cachedSeries returns the series in slot, looking it up with lookup the
// first time. Two requests may both look it up; they find the same series.
func cachedSeries[T any](slot *atomic.Pointer[T], lookup func() T) T {
	if p := slot.Load(); p != nil {
		return *p
	}
	s := lookup()
	slot.Store(&s)
	return s
}

func (rt *route) ttftSeries() prometheus.Observer {
	return cachedSeries(&rt.series.ttft, func() prometheus.Observer {
		return routerMetrics.ttft.WithLabelValues(rt.vendor.ID(), rt.model)
	})
}

func (rt *route) tokenSeries(billing, tokenType int) prometheus.Counter {
	return cachedSeries(&rt.series.tokens[billing][tokenType], func() prometheus.Counter {
		return routerMetrics.tokens.WithLabelValues(rt.vendor.ID(), rt.model, tokenTypeLabels[tokenType], billingLabels[billing])
	})
}

func (rt *route) costSeries(billing int) prometheus.Counter {
	return cachedSeries(&rt.series.cost[billing], func() prometheus.Counter {
		return routerMetrics.cost.WithLabelValues(rt.vendor.ID(), rt.model, billingLabels[billing])
	})
}

// successSeries is requests_total for a request this route served
// successfully; other outcomes are rare enough to look up each time.
func (rt *route) successSeries(s selector.Strategy) prometheus.Counter {
	if int(s) < 0 || int(s) >= len(rt.series.requests) {
		return routerMetrics.requests.WithLabelValues(rt.vendor.ID(), rt.model, s.String(), outcomeSuccess)
	}
	return cachedSeries(&rt.series.requests[s], func() prometheus.Counter {
		return routerMetrics.requests.WithLabelValues(rt.vendor.ID(), rt.model, s.String(), outcomeSuccess)
	})
}
