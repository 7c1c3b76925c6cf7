package llmrouter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/internal/anthropic"
	"github.com/caddy-llm/llmrouter/internal/openai"
	"github.com/caddy-llm/llmrouter/vendors"
)

// forward hands the request to the embedded proxy and turns a total failure
// into an error in the client API's shape.
func (h *LLMRouter) forward(w http.ResponseWriter, r *http.Request, st *requestState) error {
	r = r.WithContext(context.WithValue(r.Context(), stateCtxKey{}, st))
	// The transport sends st.plan.body on every attempt; this body only keeps the
	// request consistent for anything in between that looks at it.
	st.proxyBody.Reset(st.plan.body)
	r.Body = &st.proxyBody
	r.ContentLength = int64(len(st.plan.body))
	st.clientHeader = w.Header()
	st.client.ResponseWriter = w

	start := time.Now()
	err := h.proxy.ServeHTTP(&st.client, r, nil)
	defer h.settle(r, st, err, start)
	if err == nil {
		return nil
	}
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode == 499 {
		return err // the client is gone; nobody to answer
	}
	return h.writeVendorsFailed(w, st, err)
}

// writeVendorsFailed answers when no attempt produced a response for the
// client: it carries the last vendor's status and message and lists the
// attempts.
func (h *LLMRouter) writeVendorsFailed(w http.ResponseWriter, st *requestState, proxyErr error) error {
	h.logger.Warn("every vendor failed",
		zap.String("model", st.plan.model),
		zap.String("routing", st.plan.strategy.String()),
		zap.Int("attempts", st.attempts.tries),
		zap.Any("failures", st.attempts.failed),
		zap.Error(proxyErr),
	)
	setRouteHeaders(w.Header(), st, nil)
	sf := surfaceOf(st.plan.endpoint)
	if len(st.attempts.failed) == 0 {
		return sf.writeError(w, http.StatusServiceUnavailable, typeServer, codeNoVendor, "",
			fmt.Sprintf("no vendor is available for model %q", st.plan.model))
	}
	last := st.attempts.failed[len(st.attempts.failed)-1]
	status, errType := clientStatus(last)
	detail := last.Message
	if detail == "" {
		detail = last.Reason
	}
	var msg string
	if last.Status == 0 {
		msg = fmt.Sprintf("every vendor failed for model %q (%d attempts); last: %s: %s",
			st.plan.model, len(st.attempts.failed), last.Vendor, detail)
	} else {
		msg = fmt.Sprintf("every vendor failed for model %q (%d attempts); last: %s answered %d: %s",
			st.plan.model, len(st.attempts.failed), last.Vendor, last.Status, detail)
	}
	// Every attempt, as an extension of the error object.
	attempts, err := json.Marshal(st.attempts.failed)
	if err != nil {
		return err
	}
	extra := append([]byte(`"attempts":`), attempts...)
	if sf == &anthropicSurface {
		if allOverloaded(st.attempts.failed) {
			// Anthropic's own answer when it is overloaded, which Claude
			// Code and the SDKs retry.
			status = anthropic.StatusOverloaded
		}
		errType = anthropic.TypeOf(status)
	}
	return writeErrorBody(w, status, sf.appendError(nil,
		openai.Error{Message: msg, Type: errType, Code: codeVendorsFailed}, extra))
}

// clientStatus maps the last vendor failure to the status the client gets. A
// rate limit stays a 429 so that SDKs back off; a vendor's credential or
// routing problem (401, 403, 404) is the gateway's fault, not the client's, so
// it becomes a 502.
func clientStatus(last attemptRecord) (int, string) {
	switch {
	case last.Reason == vendors.ReasonUnsupported:
		return http.StatusBadRequest, typeInvalidRequest
	case last.Status == http.StatusTooManyRequests:
		return http.StatusTooManyRequests, typeRateLimit
	case last.Reason == vendors.ReasonTimeout || last.Status == http.StatusGatewayTimeout || last.Status == http.StatusRequestTimeout:
		return http.StatusGatewayTimeout, typeServer
	case last.Status == http.StatusServiceUnavailable || last.Status == 529:
		return http.StatusServiceUnavailable, typeServer
	default:
		return http.StatusBadGateway, typeServer
	}
}

// allOverloaded reports whether every attempt failed because its vendor was
// overloaded.
func allOverloaded(failed []attemptRecord) bool {
	for _, a := range failed {
		if a.Reason != vendors.ReasonOverloaded {
			return false
		}
	}
	return len(failed) > 0
}
