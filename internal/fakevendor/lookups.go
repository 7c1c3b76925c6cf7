package fakevendor

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Model lookups: every fake answers its API's free model metadata calls
// (what the router's health probes send) the way the real API does, before
// its own handler sees the request. They are counted apart
// (ModelLookups), not recorded with the API calls (Requests), so that a
// probe landing during a test never shifts what the test inspects.

// lookupAPI is the API whose lookups a fake answers.
type lookupAPI uint8

const (
	lookupOpenAI    lookupAPI = iota // GET …/models/{id}, GET …/models
	lookupAnthropic                  // GET /v1/models/{id}
	lookupGemini                     // GET /v1beta/models/{model}
	lookupBedrock                    // GET /foundation-models/{id}, /inference-profiles/{id}
)

// LookupOptions shape a fake's answers to model lookups.
type LookupOptions struct {
	// Status, if set, answers every lookup with this status (after the key
	// check), in the API's error shape: 404 for a model the vendor does not
	// serve, 503...
	Status int
	// Models is what a list (GET …/models) names; lookups of one model
	// answer 200 for any id unless Status says otherwise.
	Models []string
}

// lookups counts and shapes a fake's model lookups.
type lookups struct {
	api lookupAPI
	// keyOK checks the request's credential as the fake's API does; nil
	// accepts any.
	keyOK func(r *http.Request) bool

	mu    sync.Mutex
	opts  LookupOptions
	count int
	paths []string
}

// wrap answers the lookups among a fake's requests and passes the rest
// to next.
func (l *lookups) wrap(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, list, ok := l.route(r)
		if !ok {
			next(w, r)
			return
		}
		l.mu.Lock()
		l.count++
		l.paths = append(l.paths, r.URL.EscapedPath())
		o := l.opts
		l.mu.Unlock()
		if l.keyOK != nil && !l.keyOK(r) {
			l.error(w, http.StatusUnauthorized)
			return
		}
		if o.Status != 0 && o.Status != http.StatusOK {
			l.error(w, o.Status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(l.answer(id, list, o.Models))
	})
}

// route recognises a lookup: GET of a model's metadata (id) or of the list.
func (l *lookups) route(r *http.Request) (id string, list, ok bool) {
	if r.Method != http.MethodGet {
		return "", false, false
	}
	path := strings.TrimRight(r.URL.EscapedPath(), "/")
	var marker string
	switch l.api {
	case lookupOpenAI:
		if strings.HasSuffix(path, "/models") {
			return "", true, true
		}
		marker = "/models/"
	case lookupAnthropic:
		marker = "/models/"
	case lookupGemini:
		marker = "/models/"
	case lookupBedrock:
		marker = "/foundation-models/"
		if strings.Contains(path, "/inference-profiles/") {
			marker = "/inference-profiles/"
		}
	}
	i := strings.LastIndex(path, marker)
	if i < 0 {
		return "", false, false
	}
	id, err := url.PathUnescape(path[i+len(marker):])
	if err != nil || id == "" || strings.Contains(id, ":generate") || strings.Contains(id, ":stream") {
		return "", false, false
	}
	return id, false, true
}

// answer is a lookup's body in the API's shape.
func (l *lookups) answer(id string, list bool, models []string) any {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	switch l.api {
	case lookupAnthropic:
		return map[string]any{"type": "model", "id": id, "display_name": id, "created_at": created.Format(time.RFC3339)}
	case lookupGemini:
		return map[string]any{"name": "models/" + id, "displayName": id, "supportedGenerationMethods": []string{"generateContent"}}
	case lookupBedrock:
		return map[string]any{"modelDetails": map[string]any{"modelId": id, "modelLifecycle": map[string]string{"status": "ACTIVE"}}}
	}
	if list {
		data := []map[string]any{}
		for _, m := range models {
			data = append(data, map[string]any{"id": m, "object": "model", "created": created.Unix(), "owned_by": "fake"})
		}
		return map[string]any{"object": "list", "data": data}
	}
	return map[string]any{"id": id, "object": "model", "created": created.Unix(), "owned_by": "fake"}
}

// error answers a lookup with status in the API's error shape.
func (l *lookups) error(w http.ResponseWriter, status int) {
	msg := http.StatusText(status)
	switch l.api {
	case lookupAnthropic:
		anthropicError(w, status, anthropicErrorType(status), msg)
	case lookupGemini:
		geminiError(w, status, msg)
	case lookupBedrock:
		typ := "ResourceNotFoundException"
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			typ = "AccessDeniedException"
		case http.StatusTooManyRequests:
			typ = "ThrottlingException"
		case http.StatusServiceUnavailable:
			typ = "ServiceUnavailableException"
		}
		bedrockError(w, status, typ, msg)
	default:
		writeError(w, status, "", msg, errorType(status), "")
	}
}

func (l *lookups) setOptions(o LookupOptions) {
	l.mu.Lock()
	l.opts = LookupOptions{Status: o.Status, Models: append([]string(nil), o.Models...)}
	l.mu.Unlock()
}

func (l *lookups) counted() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count, append([]string(nil), l.paths...)
}

// SetLookups changes how the fake answers model lookups.
func (v *Vendor) SetLookups(o LookupOptions) { v.lookups.setOptions(o) }

// ModelLookups returns how many model lookups the fake answered, and their
// escaped paths.
func (v *Vendor) ModelLookups() (int, []string) { return v.lookups.counted() }

// SetLookups changes how the fake answers model lookups.
func (v *AnthropicVendor) SetLookups(o LookupOptions) { v.lookups.setOptions(o) }

// ModelLookups returns how many model lookups the fake answered, and their
// escaped paths.
func (v *AnthropicVendor) ModelLookups() (int, []string) { return v.lookups.counted() }

// SetLookups changes how the fake answers model lookups.
func (v *GeminiVendor) SetLookups(o LookupOptions) { v.lookups.setOptions(o) }

// ModelLookups returns how many model lookups the fake answered, and their
// escaped paths.
func (v *GeminiVendor) ModelLookups() (int, []string) { return v.lookups.counted() }

// SetLookups changes how the fake answers model lookups.
func (v *BedrockVendor) SetLookups(o LookupOptions) { v.lookups.setOptions(o) }

// ModelLookups returns how many model lookups the fake answered, and their
// escaped paths.
func (v *BedrockVendor) ModelLookups() (int, []string) { return v.lookups.counted() }
