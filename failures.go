package llmrouter

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// This file holds what an attempt's failure is made of: the errors the
// transport returns to reverse_proxy (each a transport error for it, so that
// the request moves on), how they are described, and what they mean for the
// route's breaker. The reasons themselves are one list, in
// vendors/reasons.go.

// unsupportedRequestError is an attempt the vendor's API cannot express. It is
// a transport error for reverse_proxy, so the next vendor is tried.
type unsupportedRequestError struct{ err error }

func (e unsupportedRequestError) Error() string { return e.err.Error() }

// vendorFailoverError is a vendor's error answer that moves the request to
// the next vendor (a 429, a 5xx, a key or quota problem...). It is recorded
// in the request's attempts before it is returned.
type vendorFailoverError struct {
	vendor string
	status int
	reason string
}

func (e vendorFailoverError) Error() string {
	return fmt.Sprintf("vendor %s answered %d (%s)", e.vendor, e.status, e.reason)
}

// noCommitError is an attempt that answered 200 but failed before its first
// token. It is a transport error for reverse_proxy, so the first retry
// matcher sends the request on to the next vendor; it does not wrap
// context.Canceled, which reverse_proxy would take for the client leaving.
type noCommitError struct {
	vendor, reason, message string
}

func (e noCommitError) Error() string {
	return fmt.Sprintf("vendor %s: %s: %s", e.vendor, e.reason, e.message)
}

// firstByteTimeoutError is the error of an attempt whose vendor sent nothing
// within ttft_timeout. It is a net.Error with Timeout() true, so a total
// failure maps to 504, and it deliberately does not wrap context.Canceled:
// reverse_proxy would take that for the client going away and stop retrying.
type firstByteTimeoutError struct {
	vendor string
	after  time.Duration
}

func (e firstByteTimeoutError) Error() string {
	return fmt.Sprintf("vendor %s sent nothing within %s", e.vendor, e.after)
}

func (firstByteTimeoutError) Timeout() bool { return true }

func (firstByteTimeoutError) Temporary() bool { return true }

func transportReason(err error) string {
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return vendors.ReasonTimeout
	}
	return vendors.ReasonConnection
}

// transportMessage describes a transport failure without addresses or other
// details of the vendor connection.
func transportMessage(err error) string {
	var ft firstByteTimeoutError
	switch {
	case errors.As(err, &ft):
		return fmt.Sprintf("no response within %s", ft.after)
	case transportReason(err) == vendors.ReasonTimeout:
		return "timed out"
	default:
		var de reverseproxy.DialError
		if errors.As(err, &de) {
			return "could not connect"
		}
		return "connection failed"
	}
}

// vendorErrorText renders an error the vendor reported inside a 200 response.
func vendorErrorText(e *meter.VendorError) string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Code != "":
		return "error " + e.Code
	default:
		return "error " + strconv.Quote(e.Type)
	}
}

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
	case vendors.ReasonConnection:
		return selector.FailureConnection
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

// Interface guards
var (
	_ error     = unsupportedRequestError{}
	_ error     = vendorFailoverError{}
	_ error     = noCommitError{}
	_ net.Error = firstByteTimeoutError{}
)
