package llmrouter

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// meteredBody wraps a vendor's successful response body on its way to the
// client. It times the first byte for the selector, ends the first-byte
// deadline, and releases the attempt's context when the proxy closes it (which
// reverse_proxy does even when the client aborts).
type meteredBody struct {
	io.ReadCloser
	start    time.Time
	route    *route
	bucket   int
	deadline *firstByteDeadline
	cancel   context.CancelFunc
	gotByte  bool
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && !b.gotByte {
		b.gotByte = true
		b.deadline.stop()
		now := time.Now()
		b.route.stats.ObserveLatency(b.bucket, now.Sub(b.start), now)
	}
	return n, err
}

func (b *meteredBody) Close() error {
	err := b.ReadCloser.Close()
	b.deadline.stop()
	if !b.gotByte && b.deadline.expired() {
		b.route.stats.ObserveFailure(time.Now())
	}
	b.cancel()
	return err
}

// firstByteDeadline cancels an attempt whose vendor has not sent the first
// byte of its response body in time. Unlike a context deadline it can be
// stopped once that byte arrives, so a long stream is not cut off.
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
