package llmrouter

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// failureKind maps a vendor verdict's reason to the selector's failure kinds,
// which decide how long the route cools down.
func failureKind(reason string) selector.FailureKind {
	switch reason {
	case vendors.ReasonRateLimited:
		return selector.FailureRateLimit
	case vendors.ReasonAuth:
		return selector.FailureAuth
	case vendors.ReasonQuota:
		return selector.FailureQuota
	case vendors.ReasonNotFound:
		return selector.FailureNotFound
	default:
		return selector.FailureServer
	}
}

// maxRetryAfter bounds what a vendor may ask for; the selector caps it again.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads how long the vendor asks us to wait: `retry-after-ms`
// (Azure, OpenAI) wins over `Retry-After`, which is seconds or an HTTP date.
// Zero when the response says nothing usable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return min(time.Duration(ms*float64(time.Millisecond)), maxRetryAfter)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(secs*float64(time.Second)), maxRetryAfter)
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return min(at.Sub(now), maxRetryAfter)
	}
	return 0
}
