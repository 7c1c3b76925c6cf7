package llmrouter

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAttemptTimerFirstByte(t *testing.T) {
	var canceled atomic.Int32
	timer := newAttemptTimer(time.Now(), 20*time.Millisecond, func() { canceled.Add(1) })
	assert.Eventually(t, func() bool { return canceled.Load() == 1 }, 2*time.Second, 5*time.Millisecond)
	assert.True(t, timer.expired())
	assert.False(t, timer.idleExpired())

	stopped := newAttemptTimer(time.Now(), 20*time.Millisecond, func() { canceled.Add(1) })
	stopped.stop()
	stopped.stop() // twice is fine
	time.Sleep(60 * time.Millisecond)
	assert.Equal(t, int32(1), canceled.Load(), "a stopped timer does not cancel")
	assert.False(t, stopped.expired())
}

// A stream that keeps sending is never cut, however long it lasts; one that
// falls silent is cut after the idle time, counted from its last read.
//
// The idle time is 25 times the gap between reads, and the stream lasts
// longer than the idle time: a 100 ms idle time was cut in CI under -race on
// a loaded 2-core VM, where one 20 ms sleep overslept past it (the cut was
// then right).
func TestAttemptTimerIdle(t *testing.T) {
	const idle = 500 * time.Millisecond
	var canceled atomic.Bool
	timer := newAttemptTimer(time.Now(), time.Hour, func() { canceled.Store(true) })
	timer.startIdle(idle)
	for range 35 { // 700 ms of reads, 20 ms apart
		time.Sleep(20 * time.Millisecond)
		timer.read()
	}
	assert.False(t, canceled.Load(), "a stream with steady reads was cut")

	silentFrom := time.Now()
	assert.Eventually(t, canceled.Load, 5*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(silentFrom), idle-10*time.Millisecond, "cut before the idle time passed")
	assert.True(t, timer.idleExpired())
	assert.False(t, timer.expired(), "not a first-byte timeout")
	timer.stop()
}

// Without a first-byte timeout the idle phase still works, and without an
// idle timeout nothing fires once the stream is committed.
func TestAttemptTimerPhasesOff(t *testing.T) {
	var canceled atomic.Bool
	idleOnly := newAttemptTimer(time.Now(), 0, func() { canceled.Store(true) })
	idleOnly.startIdle(20 * time.Millisecond)
	assert.Eventually(t, canceled.Load, 2*time.Second, 5*time.Millisecond)
	assert.True(t, idleOnly.idleExpired())

	canceled.Store(false)
	firstByteOnly := newAttemptTimer(time.Now(), 20*time.Millisecond, func() { canceled.Store(true) })
	firstByteOnly.startIdle(0)
	time.Sleep(60 * time.Millisecond)
	assert.False(t, canceled.Load(), "the first-byte phase ended at commit")
}
