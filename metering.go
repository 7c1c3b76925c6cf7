package llmrouter

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/caddy-llm/llmrouter/selector"
)

// meteredBody wraps a vendor's successful response body on its way to the
// client. It watches for the first token, counts completion tokens, ends the
// first-token deadline, reports the attempt to the selector, and releases the
// attempt's context when the proxy closes it (which reverse_proxy does even
// when the client aborts).
type meteredBody struct {
	io.ReadCloser
	sel      *selector.Selector
	route    *route
	bucket   int
	stream   bool
	start    time.Time
	deadline *firstByteDeadline
	cancel   context.CancelFunc

	watch      tokenWatch
	firstToken time.Duration // 0 until the first token arrived
	ended      bool          // the vendor's body ended cleanly
	broken     bool          // the vendor's body failed mid-way
	closed     bool
}

func newMeteredBody(body io.ReadCloser, st *requestState, rt *route, sel *selector.Selector,
	start time.Time, deadline *firstByteDeadline, cancel context.CancelFunc) *meteredBody {
	return &meteredBody{
		ReadCloser: body,
		sel:        sel,
		route:      rt,
		bucket:     st.bucket,
		stream:     st.stream,
		start:      start,
		deadline:   deadline,
		cancel:     cancel,
		watch:      tokenWatch{stream: st.stream},
	}
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.watch.feed(p[:n])
		if b.firstToken == 0 && b.watch.sawToken {
			b.firstToken = max(time.Since(b.start), time.Nanosecond)
			b.deadline.stop()
		}
	}
	switch {
	case err == io.EOF:
		b.ended = true
	case err != nil && !errors.Is(err, context.Canceled):
		b.broken = true
	}
	return n, err
}

// Close reports the attempt: a clean end is a success with its timings and
// token count; a body that broke, or whose first token never came in time, is
// a failure of the vendor. A client that went away says nothing about the
// vendor, so it is not reported.
func (b *meteredBody) Close() error {
	err := b.ReadCloser.Close()
	if b.closed {
		return err
	}
	b.closed = true
	b.deadline.stop()
	now := time.Now()
	switch {
	case b.ended && b.firstToken > 0:
		b.sel.ObserveSuccess(b.route.stats, b.bucket, selector.Sample{
			Stream:           b.stream,
			FirstToken:       b.firstToken,
			Total:            now.Sub(b.start),
			CompletionTokens: b.watch.completionTokens(),
		}, now)
	case b.deadline.expired() || b.broken:
		b.sel.ObserveFailure(b.route.stats, selector.Failure{Kind: selector.FailureServer}, now)
	}
	b.cancel()
	return err
}

// firstByteDeadline cancels an attempt whose vendor has not produced its first
// token in time. Unlike a context deadline it can be stopped once the token
// arrives, so a long stream is not cut off.
type firstByteDeadline struct {
	timer *time.Timer
	fired atomic.Bool
}

func newFirstByteDeadline(d time.Duration, cancel context.CancelFunc) *firstByteDeadline {
	fd := &firstByteDeadline{}
	if d > 0 {
		fd.timer = time.AfterFunc(d, func() {
			fd.fired.Store(true)
			cancel()
		})
	}
	return fd
}

// stop disarms the deadline; it is safe to call more than once.
func (fd *firstByteDeadline) stop() {
	if fd.timer != nil {
		fd.timer.Stop()
	}
}

// expired reports whether the deadline cancelled the attempt.
func (fd *firstByteDeadline) expired() bool { return fd.fired.Load() }
