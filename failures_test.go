package llmrouter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"20"}}, 20 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{"milliseconds win", http.Header{"Retry-After": {"20"}, "Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"negative", http.Header{"Retry-After": {"-5"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"bad ms falls back", http.Header{"Retry-After": {"3"}, "Retry-After-Ms": {"x"}}, 3 * time.Second},
		{"capped", http.Header{"Retry-After": {"999999999"}}, maxRetryAfter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, retryAfter(c.header, now))
		})
	}
}

func TestFailureKind(t *testing.T) {
	assert.Equal(t, selector.FailureRateLimit, failureKind(vendors.ReasonRateLimited))
	assert.Equal(t, selector.FailureAuth, failureKind(vendors.ReasonAuth))
	assert.Equal(t, selector.FailureQuota, failureKind(vendors.ReasonQuota))
	assert.Equal(t, selector.FailureNotFound, failureKind(vendors.ReasonNotFound))
	for _, r := range []string{vendors.ReasonOverloaded, vendors.ReasonServerError, vendors.ReasonTimeout, "anything"} {
		assert.Equal(t, selector.FailureServer, failureKind(r), r)
	}
}
