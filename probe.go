package llmrouter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/ledger"
	"github.com/caddy-llm/llmrouter/internal/sharedstate"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// Health probe modes (VendorConfig.Probe).
const (
	probeOff        = "off"
	probeModels     = "models"
	probeCompletion = "completion"
)

// DefaultProbeInterval is how often a vendor's routes may be probed.
const DefaultProbeInterval = time.Minute

// probeTimeout bounds one probe.
const probeTimeout = 10 * time.Second

// probeClient is the ledger client that completion probes are absorbed
// under: the house's, never a client's.
const probeClient = "(probe)"

// probeBody is a completion probe's request: the smallest a chat API takes.
const probeBody = `{"model":"probe","messages":[{"role":"user","content":"Say OK."}],"max_completion_tokens":1}`

// probeTarget is one probed vendor with its routes.
type probeTarget struct {
	vendor   *vendors.Vendor
	mode     string
	interval time.Duration
	routes   []*route
}

// planProbes works out, from the vendor settings, which vendors are probed
// and how. A vendor whose kind has no free metadata call is not probed by
// default; asking for `models` on it is a config error.
func (h *LLMRouter) planProbes() ([]probeTarget, error) {
	var targets []probeTarget
	for _, vc := range h.Vendors {
		var v *vendors.Vendor
		var routes []*route
		for _, rt := range h.table.routes {
			if rt.vendor.ID() == vc.ID {
				v = rt.vendor
				routes = append(routes, rt)
			}
		}
		mode := vc.Probe
		switch mode {
		case "":
			mode = probeModels
			if v != nil && !v.CanProbe() {
				mode = probeOff
			}
		case probeOff, probeModels, probeCompletion:
		default:
			return nil, fmt.Errorf("vendor %q: probe: unknown mode %q (want off, models or completion)", vc.ID, vc.Probe)
		}
		if mode == probeModels && v != nil && !v.CanProbe() {
			return nil, fmt.Errorf("vendor %q: probe: kind %s has no free metadata call: use completion or off", vc.ID, v.Kind())
		}
		if vc.ProbeInterval < 0 {
			return nil, fmt.Errorf("vendor %q: probe interval must be positive", vc.ID)
		}
		if mode == probeOff || len(routes) == 0 {
			continue
		}
		interval := time.Duration(vc.ProbeInterval)
		if interval == 0 {
			interval = DefaultProbeInterval
		}
		targets = append(targets, probeTarget{vendor: v, mode: mode, interval: interval, routes: routes})
	}
	return targets, nil
}

// prober runs a handler's health probes, a goroutine per probed vendor,
// until the handler is cleaned up.
type prober struct {
	h      *LLMRouter
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startProbes starts the probes of targets.
func (h *LLMRouter) startProbes(targets []probeTarget) {
	if len(targets) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{h: h, cancel: cancel}
	for i := range targets {
		t := &targets[i]
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.run(ctx, t)
		}()
	}
	h.probes = p
}

// stopProbes stops the probes and waits for those under way.
func (h *LLMRouter) stopProbes() {
	if h.probes == nil {
		return
	}
	h.probes.cancel()
	h.probes.wg.Wait()
	h.probes = nil
}

// run probes t's routes every interval; the first round comes soon after
// start (within 10 s), so that a bad key or host shows before a client
// finds it.
func (p *prober) run(ctx context.Context, t *probeTarget) {
	timer := time.NewTimer(min(t.interval, 10*time.Second))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		p.round(ctx, t)
		timer.Reset(t.interval)
	}
}

// round probes the routes of t that need it, unless another instance of the
// fleet has this vendor's probes for this interval.
func (p *prober) round(ctx context.Context, t *probeTarget) {
	if shared, ok := p.h.store.(*sharedstate.Shared); ok {
		// A little under the interval, so that the next round's claim
		// finds the key expired despite timer drift.
		won, err := shared.Claim(ctx, "probe:"+t.vendor.ID(), t.interval*9/10)
		if err == nil && !won {
			return
		}
	}
	staleAfter := p.h.selector.Config().StaleAfter
	for _, rt := range t.routes {
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		snap := p.h.selector.Snapshot(rt.stats, now)
		open := snap.Breaker != selector.Closed
		idle := !open && (snap.LastSample.IsZero() || now.Sub(snap.LastSample) > staleAfter)
		if open && !snap.Cause.ProbeClears() || !open && !idle {
			continue
		}
		p.probe(ctx, t, rt, snap.Cause)
	}
}

// Probe results, the result label of caddy_llm_router_probes_total.
const (
	probeOK           = "ok"           // the vendor answered as it should
	probeClosed       = "closed"       // and that closed the route's breaker
	probeFailed       = "failed"       // it proved the key, the model or the host wrong
	probeInconclusive = "inconclusive" // busy, or an answer that proves nothing
)

// probe probes one route and records what it proved.
func (p *prober) probe(ctx context.Context, t *probeTarget, rt *route, cause selector.FailureKind) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	started := time.Now()
	var (
		ok, proves bool
		failure    string
		err        error
	)
	if t.mode == probeCompletion {
		ok, failure, err = p.completion(ctx, rt, started)
		proves = ok
	} else {
		ok, proves, failure, err = p.metadata(ctx, rt)
	}
	result := probeInconclusive
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
		return // the handler is going away
	case err != nil:
		p.h.logger.Debug("probe could not be sent", zap.String("vendor", rt.vendor.ID()),
			zap.String("model", rt.model), zap.Error(err))
	case failure != "":
		result = probeFailed
		p.h.selector.ObserveFailure(rt.stats, selector.Failure{Kind: failureKind(failure)}, time.Now())
		p.h.logger.Info("probe failed", zap.String("vendor", rt.vendor.ID()), zap.String("model", rt.model),
			zap.String("reason", failure), zap.String("mode", t.mode))
	case ok:
		result = probeOK
		// A list that does not name the model proves the key and the
		// host, not the model.
		if (proves || cause != selector.FailureNotFound) && rt.stats.ObserveProbe(started) {
			result = probeClosed
			p.h.logger.Info("probe closed the breaker", zap.String("vendor", rt.vendor.ID()),
				zap.String("model", rt.model), zap.String("cause", cause.String()), zap.String("mode", t.mode))
		}
	}
	routerMetrics.probes.WithLabelValues(rt.vendor.ID(), rt.model, result).Inc()
}

// metadata sends the kind's free metadata call about rt's model. A
// connection that fails is a failure (the host is unreachable); one that
// times out proves nothing.
func (p *prober) metadata(ctx context.Context, rt *route) (ok, modelSeen bool, failure string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://probe.invalid/", nil)
	if err != nil {
		return false, false, "", err
	}
	checksModel, err := rt.vendor.ProbeRequest(req, rt.vendorModel)
	if err != nil {
		return false, false, "", err
	}
	status, header, body, failure, err := p.send(req)
	if err != nil || failure != "" {
		return false, false, failure, err
	}
	ok, modelSeen, failure = rt.vendor.ProbeOutcome(status, header, body, rt.vendorModel, checksModel)
	return ok, modelSeen, failure, nil
}

// completion sends the smallest chat request to rt, as a client request
// would go, and absorbs what it cost under probeClient. Any 4xx fails the
// probe: the request is valid everywhere.
func (p *prober) completion(ctx context.Context, rt *route, started time.Time) (ok bool, failure string, err error) {
	tr, err := rt.vendor.Translator(vendors.Attempt{Endpoint: vendors.ChatCompletions, Model: rt.vendorModel,
		Body: []byte(probeBody), PromptTokens: 8})
	if err != nil {
		return false, "", err
	}
	defer tr.Release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://probe.invalid/v1/chat/completions", nil)
	if err != nil {
		return false, "", err
	}
	if err := tr.Request(req); err != nil {
		return false, "", err
	}
	status, header, body, failure, err := p.send(req)
	if err != nil || failure != "" {
		return false, failure, err
	}
	if status >= 400 {
		verdict := rt.vendor.ClassifyResponse(status, header, body)
		if status < 500 && status != http.StatusTooManyRequests {
			reason := verdict.Reason
			if reason != vendors.ReasonAuth && reason != vendors.ReasonNotFound && reason != vendors.ReasonQuota {
				reason = vendors.ReasonBadRequest
			}
			return false, reason, nil
		}
		return false, "", nil // busy: proves nothing
	}
	_, res, err := tr.Answer(body)
	if err != nil {
		return false, "", err
	}
	p.absorb(rt, res.Usage, started)
	return true, "", nil
}

// send sends a probe with the vendor transport and reads a bounded body. A
// connection that cannot be made is the failure "connection_error".
func (p *prober) send(req *http.Request) (status int, header http.Header, body []byte, failure string, err error) {
	resp, err := p.h.inner.RoundTrip(req)
	if err != nil {
		if req.Context().Err() != nil {
			return 0, nil, nil, "", err // our deadline, or the handler going away
		}
		return 0, nil, nil, vendors.ReasonConnection, nil
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, "", err
	}
	return resp.StatusCode, resp.Header, body, "", nil
}

// absorb records a completion probe's cost as the house's.
func (p *prober) absorb(rt *route, u billing.Usage, started time.Time) {
	cost := billing.Cost(u, rt.price)
	routerMetrics.cost.WithLabelValues(rt.vendor.ID(), rt.model, absorbed).Add(cost)
	if p.h.ledger == nil {
		return
	}
	p.h.ledger.Record(ledger.Entry{RequestID: newRequestID(), Time: started, Client: probeClient,
		Endpoint: vendors.ChatCompletions.String(), Model: rt.model, Vendor: rt.vendor.ID(), Routing: "probe",
		Attempts: 1, Outcome: outcomeSuccess, Absorbed: u, AbsorbedCostUSD: cost, Duration: time.Since(started)})
}
