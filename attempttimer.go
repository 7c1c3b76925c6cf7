package llmrouter

import (
	"context"
	"sync/atomic"
	"time"
)

// The phases of an attemptTimer.
const (
	timerOff       int32 = iota
	timerFirstByte       // until the first token: ttft_timeout
	timerIdle            // a committed stream, between reads: stream_idle_timeout
)

// attemptTimer cancels an attempt whose vendor stalls: before its first
// token, and then, once a stream is committed, between two reads. Unlike a
// context deadline it can be stopped, so that a long stream is not cut off.
//
// One timer serves both phases. While streaming, a read only notes when it
// happened; when the timer fires early it sleeps again for the rest of the
// idle time. Resetting the timer on every read instead was a measurable
// share of what a stream cost the router.
type attemptTimer struct {
	cancel context.CancelFunc
	start  time.Time
	timer  *time.Timer
	phase  atomic.Int32
	fired  atomic.Int32 // the phase in which it canceled the attempt
	idle   time.Duration
	// lastRead is when the stream last had data, as time since start.
	lastRead atomic.Int64
}

// newAttemptTimer starts the first-byte phase of an attempt that started at
// start (now: the caller's clock reading, not a second one): cancel is
// called unless stop or startIdle comes within firstByte. A zero firstByte
// disables the phase.
func newAttemptTimer(start time.Time, firstByte time.Duration, cancel context.CancelFunc) *attemptTimer {
	t := &attemptTimer{cancel: cancel, start: start}
	if firstByte > 0 {
		t.phase.Store(timerFirstByte)
		t.timer = time.AfterFunc(firstByte, t.fire)
	}
	return t
}

// startIdle ends the first-byte phase and, for a positive idle, starts the
// idle phase. Call it once, from the goroutine that reads the stream.
func (t *attemptTimer) startIdle(idle time.Duration) {
	t.stop()
	if idle <= 0 {
		return
	}
	t.idle = idle
	t.read()
	t.phase.Store(timerIdle)
	if t.timer == nil {
		// Created stopped, then armed, so that fire never runs before
		// t.timer is set.
		t.timer = time.AfterFunc(time.Hour, t.fire)
		t.timer.Stop()
	}
	t.timer.Reset(idle)
}

// read notes that the stream had data.
func (t *attemptTimer) read() {
	t.lastRead.Store(int64(time.Since(t.start)))
}

// stop disarms the timer; it is safe to call more than once.
func (t *attemptTimer) stop() {
	t.phase.Store(timerOff)
	if t.timer != nil {
		t.timer.Stop()
	}
}

func (t *attemptTimer) fire() {
	phase := t.phase.Load()
	switch phase {
	case timerFirstByte:
	case timerIdle:
		if quiet := time.Since(t.start) - time.Duration(t.lastRead.Load()); quiet < t.idle {
			t.timer.Reset(t.idle - quiet)
			return
		}
	default:
		return
	}
	if t.fired.CompareAndSwap(timerOff, phase) {
		t.cancel()
	}
}

// expired reports whether the attempt was canceled for want of a first token.
func (t *attemptTimer) expired() bool { return t.fired.Load() == timerFirstByte }

// idleExpired reports whether a committed stream was canceled for silence.
func (t *attemptTimer) idleExpired() bool { return t.fired.Load() == timerIdle }
