package llmrouter

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-llm/llmrouter/internal/ledger"
	"github.com/caddy-llm/llmrouter/internal/sharedstate"
	"github.com/caddy-llm/llmrouter/selector"
)

// routerMetrics are the router's Prometheus collectors. They are created once
// per process and registered into each config's registry, the way Caddy's
// reverse_proxy does it, so counters keep counting across reloads.
var routerMetrics struct {
	once      sync.Once
	requests  *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	failovers *prometheus.CounterVec
	probes    *prometheus.CounterVec
	ttft      *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	hedges    *prometheus.CounterVec
	breakers  prometheus.Collector
	state     prometheus.Collector
}

// Billing label values: billable spend is what clients are charged for;
// absorbed is what errors and empty answers cost, which they never are.
const (
	billable = "billable"
	absorbed = "absorbed"
)

func initMetrics(registry *prometheus.Registry) error {
	const ns, sub = "caddy", "llm_router"
	routerMetrics.once.Do(func() {
		routerMetrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Routed requests by the vendor that served them (empty if none), model, routing strategy and outcome.",
		}, []string{"vendor", "model", "routing", "outcome"})
		routerMetrics.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "limit_refusals_total",
			Help: "Requests refused by a client limit, by the kind of limit (requests, tokens, concurrent, usd).",
		}, []string{"limit"})
		routerMetrics.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "failovers_total",
			Help: "Attempts given up for the next vendor, by the vendor that failed, model and reason.",
		}, []string{"vendor", "model", "reason"})
		routerMetrics.probes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "probes_total",
			Help: "Health probes by vendor, model and result (ok, closed: it closed the breaker, failed, inconclusive).",
		}, []string{"vendor", "model", "result"})
		routerMetrics.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "ttft_seconds",
			Help:    "Time from sending a request to a vendor to its first content token.",
			Buckets: []float64{.05, .1, .25, .5, .75, 1, 1.5, 2, 3, 5, 8, 13, 21, 34, 60},
		}, []string{"vendor", "model"})
		routerMetrics.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "tokens_total",
			Help: "Tokens by vendor, model, type (prompt, cached_prompt, completion) and billing (billable, absorbed).",
		}, []string{"vendor", "model", "type", "billing"})
		routerMetrics.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cost_usd_total",
			Help: "Cost in USD from the configured prices, by vendor, model and billing (billable, absorbed).",
		}, []string{"vendor", "model", "billing"})
		routerMetrics.hedges = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "hedges_total",
			Help: "Hedged requests by model and result: started, won (the hedge answered first) and lost.",
		}, []string{"model", "result"})
		routerMetrics.breakers = breakerCollector{desc: prometheus.NewDesc(
			prometheus.BuildFQName(ns, sub, "breaker_state"),
			"Breaker state per vendor and model: 0 closed, 1 half-open, 2 open.",
			[]string{"vendor", "model"}, nil)}
		routerMetrics.state = newStateCollector(ns, sub)
	})
	if registry == nil {
		return nil
	}
	for _, c := range routerCollectors() {
		// Several llm_router handlers in one config share the collectors.
		var already prometheus.AlreadyRegisteredError
		if err := registry.Register(c); err != nil && !errors.As(err, &already) {
			return err
		}
	}
	return nil
}

// routerCollectors lists the collectors initMetrics created: what the router
// exports (the Grafana example's test reads the metric names from them).
func routerCollectors() []prometheus.Collector {
	return []prometheus.Collector{routerMetrics.requests, routerMetrics.refusals, routerMetrics.failovers,
		routerMetrics.probes, routerMetrics.ttft, routerMetrics.tokens, routerMetrics.cost, routerMetrics.hedges,
		routerMetrics.breakers, routerMetrics.state}
}

// breakerCollector reports each route's breaker state at scrape time.
type breakerCollector struct{ desc *prometheus.Desc }

func (c breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c breakerCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	seen := make(map[selector.Route]bool)
	for _, h := range liveRouters.list() {
		for _, rt := range h.table.routes {
			if seen[rt.stats] {
				continue
			}
			seen[rt.stats] = true
			state := h.selector.Snapshot(rt.stats, now).Breaker
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(state), rt.vendor.ID(), rt.model)
		}
	}
}

// stateCollector reports, at scrape time, whether the shared state and the
// ledgers can reach their servers, and what the ledgers did with their rows.
type stateCollector struct {
	sharedUp, ledgerUp, ledgerRows *prometheus.Desc
}

func newStateCollector(ns, sub string) stateCollector {
	return stateCollector{
		sharedUp: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "shared_state_up"),
			"Whether the shared state (Redis) is reachable: 1 up, 0 down (each instance carries on with local state). Absent without shared state.", nil, nil),
		ledgerUp: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "ledger_up"),
			"Whether the ledger's database is reachable: 1 up, 0 down (rows go to the spill file). Absent without an SQL ledger.", nil, nil),
		ledgerRows: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "ledger_rows_total"),
			"Ledger rows by what happened to them: queued for the writer, written to the database, spilled to the spill file, replayed from it, lost (neither the database nor the disk took them).", []string{"state"}, nil),
	}
}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sharedUp
	ch <- c.ledgerUp
	ch <- c.ledgerRows
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	var stores []*sharedstate.Shared
	for _, h := range liveRouters.list() {
		if s, ok := h.store.(*sharedstate.Shared); ok && !slices.Contains(stores, s) {
			stores = append(stores, s)
		}
	}
	if len(stores) > 0 {
		up := 1.0
		for _, s := range stores {
			if !s.Up() {
				up = 0
			}
		}
		ch <- prometheus.MustNewConstMetric(c.sharedUp, prometheus.GaugeValue, up)
	}

	var sum ledger.SQLStats
	up, haveSQL := 1.0, false
	for _, l := range liveLedgers() {
		sl, ok := l.(*ledger.SQL)
		if !ok {
			continue
		}
		haveSQL = true
		st := sl.Stats()
		sum.Queued += st.Queued
		sum.Written += st.Written
		sum.Spilled += st.Spilled
		sum.Replayed += st.Replayed
		sum.Lost += st.Lost
		if !st.Up {
			up = 0
		}
	}
	if haveSQL {
		ch <- prometheus.MustNewConstMetric(c.ledgerUp, prometheus.GaugeValue, up)
		for _, n := range []struct {
			state string
			rows  uint64
		}{{"queued", sum.Queued}, {"written", sum.Written}, {"spilled", sum.Spilled}, {"replayed", sum.Replayed}, {"lost", sum.Lost}} {
			ch <- prometheus.MustNewConstMetric(c.ledgerRows, prometheus.CounterValue, float64(n.rows), n.state)
		}
	}
}

// Interface guards
var (
	_ prometheus.Collector = breakerCollector{}
	_ prometheus.Collector = stateCollector{}
)
