package llmrouter

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// OpenAI's Responses API (POST /v1/responses) takes the request path of
// chat completions; what differs is here: the response ids, which name the
// vendor that produced them (a previous_response_id pins its request there,
// and GET or DELETE /v1/responses/{id} goes there), and the preference for
// the vendors that serve the API themselves when a request carries built-in
// tools, which the chat bridge cannot run.

// processResponseIDs signs response ids when no response_id_key is set: one
// random key per process, kept across config reloads.
var processResponseIDs = vendors.NewResponseIDs(nil)

// minResponseIDKey is the shortest response_id_key accepted.
const minResponseIDKey = 16

// provisionResponseIDs returns the signer of response ids for key
// (placeholders resolved), or the process's own when key is empty.
func provisionResponseIDs(key string) (*vendors.ResponseIDs, error) {
	if key == "" {
		return processResponseIDs, nil
	}
	key = caddy.NewReplacer().ReplaceKnown(key, "")
	if len(key) < minResponseIDKey {
		return nil, fmt.Errorf("response_id_key: must be at least %d bytes once placeholders are resolved, got %d",
			minResponseIDKey, len(key))
	}
	return vendors.NewResponseIDs([]byte(key)), nil
}

// ids returns the handler's signer of response ids (the process's, for a
// handler built without Provision).
func (h *LLMRouter) ids() *vendors.ResponseIDs {
	if h.responseIDs == nil {
		return processResponseIDs
	}
	return h.responseIDs
}

// codeInvalidPreviousResponse is the error code of a previous_response_id
// the router cannot follow.
const codeInvalidPreviousResponse = "invalid_previous_response_id"

// responsesPin returns the vendor a Responses request must go to: the one
// that produced its previous_response_id; nil when it names none.
func (h *LLMRouter) responsesPin(body []byte) (*vendors.Vendor, error) {
	prev := gjson.Get(jsonwalk.View(body), "previous_response_id")
	switch {
	case !prev.Exists() || prev.Type == gjson.Null:
		return nil, nil
	case prev.Type != gjson.String:
		return nil, badRequest(codeInvalidPreviousResponse, "previous_response_id", "previous_response_id must be a string")
	}
	id, _, ok := h.ids().Open(prev.Str)
	if !ok {
		return nil, badRequest(codeInvalidPreviousResponse, "previous_response_id",
			"previous_response_id %q is not the id of a response this router returned", prev.Str)
	}
	v, ok := h.table.vendor(id)
	if !ok {
		return nil, badRequest(codeInvalidPreviousResponse, "previous_response_id",
			"previous_response_id %q was produced by vendor %q, which is no longer configured", prev.Str, id)
	}
	if !v.ServesNatively(vendors.Responses) {
		return nil, badRequest(codeInvalidPreviousResponse, "previous_response_id",
			"previous_response_id %q was produced by vendor %q, which serves the Responses API through chat completions "+
				"and keeps no conversation state: send the whole conversation in input", prev.Str, id)
	}
	return v, nil
}

// preferNative moves the routes whose vendor serves the Responses API
// itself ahead of the bridged ones, keeping each group's order, when the
// request carries built-in tools (web_search, file_search...): only those
// vendors can run them; a bridged vendor leaves them out.
func preferNative(p *plan) {
	if !hasBuiltinTools(p.body) {
		return
	}
	first := p.ranked[0]
	native := 0
	for _, rt := range p.ranked {
		if rt.vendor.ServesNatively(vendors.Responses) {
			native++
		}
	}
	if native == 0 || native == len(p.ranked) {
		return
	}
	sorted := make([]*route, 0, len(p.ranked))
	var scores []selector.Score
	for _, wantNative := range [...]bool{true, false} {
		for i, rt := range p.ranked {
			if rt.vendor.ServesNatively(vendors.Responses) == wantNative {
				sorted = append(sorted, rt)
				if i < len(p.scores) {
					scores = append(scores, p.scores[i]) // the explanation follows its route
				}
			}
		}
	}
	copy(p.ranked, sorted)
	copy(p.scores, scores)
	if p.ranked[0] != first {
		p.explored = false
	}
}

// hasBuiltinTools reports whether a Responses body has a tool that is
// neither a function nor a namespace of functions.
func hasBuiltinTools(body []byte) bool {
	builtin := false
	gjson.Get(jsonwalk.View(body), "tools").ForEach(func(_, t gjson.Result) bool {
		switch t.Get("type").Str {
		case "function", "namespace":
			return true
		}
		builtin = true
		return false
	})
	return builtin
}

// maxStoredResponse bounds a stored response the router passes on.
const maxStoredResponse = 64 << 20

// serveStoredResponse serves GET and DELETE /v1/responses/{id} (and what is
// below it: GET .../input_items, POST .../cancel) from the vendor that
// produced the response, named by its id. These requests are not routed,
// metered or billed: they only read or remove what the vendor stored.
func (h *LLMRouter) serveStoredResponse(w http.ResponseWriter, r *http.Request) error {
	sf := surfaceOf(vendors.Responses)
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, h.prefix), "/responses/")
	id, suffix := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		id, suffix = rest[:i], rest[i:]
	}
	allow := "GET, DELETE"
	switch suffix {
	case "/input_items":
		allow = "GET"
	case "/cancel":
		allow = "POST"
	case "":
	default:
		return sf.writeError(w, http.StatusNotFound, typeInvalidRequest, codeUnknownURL, "",
			fmt.Sprintf("unknown path %s", r.URL.Path))
	}
	if !strings.Contains(allow, r.Method) || r.Method == "" {
		return sf.writeMethodNotAllowed(w, allow)
	}
	vendorID, inner, ok := h.ids().Open(id)
	if !ok {
		return sf.writeError(w, http.StatusNotFound, typeInvalidRequest, "not_found", "",
			fmt.Sprintf("no response with id %q: it is not the id of a response this router returned", id))
	}
	v, ok := h.table.vendor(vendorID)
	if !ok || !v.ServesNatively(vendors.Responses) {
		return sf.writeError(w, http.StatusNotFound, typeInvalidRequest, "not_found", "",
			fmt.Sprintf("response %q is not stored: vendor %q keeps no responses", id, vendorID))
	}

	out := h.attemptRequest(r.Context(), r)
	if err := v.ResponseRequest(out, inner, suffix, r.URL.RawQuery); err != nil {
		return sf.writeError(w, http.StatusNotFound, typeInvalidRequest, "not_found", "", err.Error())
	}
	resp, err := h.inner.RoundTrip(out)
	if err != nil {
		if r.Context().Err() != nil {
			return nil
		}
		return sf.writeError(w, http.StatusBadGateway, typeServer, codeVendorsFailed, "",
			fmt.Sprintf("vendor %s could not be reached: %s", v.ID(), v.Redact(err.Error())))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStoredResponse))
	if err != nil {
		return sf.writeError(w, http.StatusBadGateway, typeServer, codeVendorsFailed, "",
			fmt.Sprintf("vendor %s's answer broke off", v.ID()))
	}
	if resp.StatusCode < http.StatusBadRequest {
		body = v.SignResponseIDs(h.ids(), body)
	} else {
		body = v.RedactBody(body)
	}
	stripVendorHeaders(resp.Header, v)
	hdr := w.Header()
	for _, name := range [...]string{"Content-Type", "Openai-Processing-Ms", "X-Request-Id"} {
		if val := resp.Header.Get(name); val != "" {
			hdr.Set(name, val)
		}
	}
	hdr.Set(headerVendor, v.ID())
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err = w.Write(body)
	return err
}
