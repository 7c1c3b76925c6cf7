package llmrouter

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

// modelList is the OpenAI `GET /v1/models` response. Each model carries the
// vendors that serve it as an extension field; OpenAI SDKs ignore it.
type modelList struct {
	Object string       `json:"object"`
	Data   []modelEntry `json:"data"`
}

type modelEntry struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	OwnedBy string        `json:"owned_by"`
	Vendors []modelVendor `json:"vendors"`
}

type modelVendor struct {
	ID    string     `json:"id"`
	Kind  string     `json:"kind"`
	Model string     `json:"model"`
	Price *priceInfo `json:"price,omitempty"`
	// Health is the vendor's breaker for this model: "closed" (healthy),
	// "half-open" or "open".
	Health string `json:"health"`
	// TTFTMillis is the measured time to first token averaged over prompt
	// sizes; absent until measured.
	TTFTMillis *float64 `json:"ttft_ms,omitempty"`
	// DecodeTokensPerSec is the measured decode speed; absent until measured.
	DecodeTokensPerSec *float64 `json:"decode_tokens_per_sec,omitempty"`
}

type priceInfo struct {
	Input       float64 `json:"input"`
	Output      float64 `json:"output"`
	CachedInput float64 `json:"cached_input"`
}

// serveModels answers `GET /v1/models` from the configuration: upstream model
// lists differ per vendor (Azure lists base models, not deployments) and cost
// a round trip, so they are never proxied.
func (h *LLMRouter) serveModels(w http.ResponseWriter) error {
	now := time.Now()
	list := modelList{Object: "list", Data: make([]modelEntry, 0, len(h.table.models))}
	for _, name := range h.table.models {
		routes := h.table.byModel[name]
		entry := modelEntry{ID: name, Object: "model", Created: 0, OwnedBy: "llm_router",
			Vendors: make([]modelVendor, 0, len(routes))}
		if len(routes) == 1 {
			entry.OwnedBy = routes[0].vendor.ID()
		}
		for _, rt := range routes {
			snap := h.selector.Snapshot(rt.stats, now)
			mv := modelVendor{ID: rt.vendor.ID(), Kind: rt.vendor.Kind(), Model: rt.vendorModel,
				Health: snap.Breaker.String()}
			if ttft, ok := averageTTFT(snap); ok {
				mv.TTFTMillis = &ttft
			}
			if snap.DecodeTokensPerSec > 0 {
				mv.DecodeTokensPerSec = &snap.DecodeTokensPerSec
			}
			if rt.price.Known {
				mv.Price = &priceInfo{Input: rt.price.Input, Output: rt.price.Output, CachedInput: rt.price.CachedInput}
			}
			entry.Vendors = append(entry.Vendors, mv)
		}
		list.Data = append(list.Data, entry)
	}
	body, err := json.Marshal(list)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// averageTTFT is the sample-weighted mean TTFT over a route's buckets.
func averageTTFT(snap selector.Snapshot) (float64, bool) {
	var sum float64
	var n int
	for _, b := range snap.Buckets {
		sum += b.TTFTMillis * float64(b.Samples)
		n += b.Samples
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// anthropicModelList is Anthropic's `GET /v1/models` response, for a client
// that sends anthropic-version (Claude Code lists models with it when
// CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY is set, and keeps the ids that
// start with "claude").
type anthropicModelList struct {
	Data    []anthropicModel `json:"data"`
	HasMore bool             `json:"has_more"`
	FirstID *string          `json:"first_id"`
	LastID  *string          `json:"last_id"`
}

type anthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// serveAnthropicModels answers `GET /v1/models` in Anthropic's shape: every
// configured model, all on one page.
func (h *LLMRouter) serveAnthropicModels(w http.ResponseWriter) error {
	list := anthropicModelList{Data: make([]anthropicModel, 0, len(h.table.models))}
	for _, name := range h.table.models {
		list.Data = append(list.Data, anthropicModel{Type: "model", ID: name, DisplayName: name,
			CreatedAt: "1970-01-01T00:00:00Z"})
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
	}
	body, err := json.Marshal(list)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}
