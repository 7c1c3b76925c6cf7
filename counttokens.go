package llmrouter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/vendors"
)

// maxCountTokensAnswer bounds a vendor's count_tokens answer.
const maxCountTokensAnswer = 64 << 10

// serveCountTokens answers Anthropic's POST /v1/messages/count_tokens. It
// is free where Claude is served, so it goes to the model's Claude vendors
// (anthropic, Claude on aws and vertex), in ranking order (a vendor that
// fails or is overloaded hands on to the next; at aws and vertex, which
// count only some models, any error does); when no Claude vendor serves the
// model, or none answered, the router
// answers with its own estimate of the prompt (selector.PromptEstimator,
// about 4 bytes a token). It is never metered, billed, limited or recorded
// in the ledger: it generates nothing.
func (h *LLMRouter) serveCountTokens(w http.ResponseWriter, r *http.Request) error {
	body, err := h.readRequestBody(w, r)
	defer body.release()
	var st *requestState
	if err == nil {
		st, err = h.inspect(r, opCountTokens, body.buf, time.Now())
	}
	var ce *clientError
	if errors.As(err, &ce) {
		return anthropicSurface.writeError(w, ce.status, ce.errType, ce.code, ce.param, ce.message)
	}
	if err != nil {
		return err
	}
	for _, rt := range st.plan.ranked {
		st.attempts.tries++
		if answered, err := h.countTokensAt(w, r, st, rt); answered {
			return err
		}
	}
	setRouteHeaders(w.Header(), st, nil)
	answer := strconv.AppendInt([]byte(`{"input_tokens":`), int64(st.plan.promptTokens), 10)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)+1))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(answer, '}'))
	return err
}

// countTokensAt asks one vendor. answered is false when the vendor could
// not answer (a failover error, a transport error): the caller tries the
// next, or estimates.
func (h *LLMRouter) countTokensAt(w http.ResponseWriter, r *http.Request, st *requestState, rt *route) (answered bool, err error) {
	tr, err := rt.vendor.Translator(vendors.Attempt{Endpoint: vendors.CountTokens, Model: rt.vendorModel,
		Body: st.plan.body, Layout: st.plan.layout, PromptTokens: st.plan.promptTokens})
	if err != nil {
		return false, nil
	}
	defer tr.Release()
	ctx, cancel := context.WithTimeout(r.Context(), st.plan.ttftTimeout)
	defer cancel()
	out := h.attemptRequest(ctx, r)
	if err := tr.Request(out); err != nil {
		return false, nil
	}
	resp, err := h.inner.RoundTrip(out)
	if err != nil {
		return false, nil
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxCountTokensAnswer))
	if err != nil {
		return false, nil
	}
	if resp.StatusCode >= http.StatusBadRequest {
		if !rt.vendor.CountTokensFinal() || rt.vendor.Classify(resp.StatusCode, answer).Failover {
			return false, nil
		}
		answer = tr.ErrorBody(w.Header(), resp.StatusCode, answer)
	} else {
		var res meter.Result
		if answer, res, _ = tr.Answer(answer); res.Err != nil {
			return false, nil
		}
	}
	setRouteHeaders(w.Header(), st, rt)
	return true, writeErrorBody(w, resp.StatusCode, answer)
}
