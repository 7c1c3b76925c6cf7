package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFailureKindString(t *testing.T) {
	want := map[FailureKind]string{
		FailureServer:    "server",
		FailureRateLimit: "rate_limit",
		FailureAuth:      "auth",
		FailureQuota:     "quota",
		FailureNotFound:  "not_found",
		FailureKind(42):  "FailureKind(42)",
	}
	for k, s := range want {
		assert.Equal(t, s, k.String())
	}
	assert.Equal(t, FailureServer, Failure{}.Kind, "the zero Failure is a server failure")
}

func TestObserveFailureCounts(t *testing.T) {
	s := New(Config{})
	r := NewRoute()
	for range 5 {
		s.ObserveFailure(r, Failure{}, t0)
	}
	snap := s.Snapshot(r, t0)
	assert.Equal(t, int64(5), snap.Failures)
	assert.Equal(t, 5, snap.ConsecutiveFailures)
}

func BenchmarkObserveFailure(b *testing.B) {
	b.ReportAllocs()
	s := New(Config{})
	r := NewRoute()
	now := t0
	for b.Loop() {
		now = now.Add(time.Second)
		s.ObserveFailure(r, Failure{Kind: FailureRateLimit, RetryAfter: time.Second}, now)
	}
}

func BenchmarkAdmit(b *testing.B) {
	b.ReportAllocs()
	s := New(Config{})
	r := NewRoute()
	for b.Loop() {
		s.Admit(r, t0)
	}
}
