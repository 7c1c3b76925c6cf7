package sharedstate

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-llm/llmrouter/internal/testservices"
	"github.com/caddy-llm/llmrouter/selector"
)

// testInterval is the sync interval of most tests.
const testInterval = 100 * time.Millisecond

// sel is the selector the tests drive routes with, as the handler does.
var sel = selector.New(selector.Config{ExplorationShare: -1})

// fleet is a set of instances on one Redis under one key prefix of their
// own, so that tests neither see each other's state nor leave any behind.
type fleet struct {
	t      *testing.T
	addr   string
	prefix string
	rdb    *redis.Client
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	addr := testservices.RedisAddr(t)
	f := &fleet{t: t, addr: addr, prefix: "llm_router_test:" + t.Name() + ":" + randomID() + ":",
		rdb: redis.NewClient(&redis.Options{Addr: addr})}
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		iter := f.rdb.Scan(ctx, 0, f.prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			f.rdb.Del(ctx, keys...)
		}
		_ = f.rdb.Close()
	})
	return f
}

// open starts an instance of the fleet, with the given changes to its
// config, and closes it at the end of the test.
func (f *fleet) open(change ...func(*Config)) *Shared {
	f.t.Helper()
	cfg := Config{Address: f.addr, KeyPrefix: f.prefix, SyncInterval: testInterval,
		CommandTimeout: 300 * time.Millisecond, DialTimeout: 300 * time.Millisecond}
	for _, c := range change {
		c(&cfg)
	}
	s, err := Open(cfg)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = s.Close() })
	return s
}

// ready waits until s has subscribed and run a round.
func ready(t *testing.T, s *Shared) {
	t.Helper()
	require.Eventually(t, func() bool { return s.subscribed.Load() > 0 && s.rounds.Load() > 0 },
		5*time.Second, 5*time.Millisecond, "instance ready")
}

// waitRounds waits until each instance has run n more rounds.
func waitRounds(t *testing.T, n int64, ss ...*Shared) {
	t.Helper()
	for _, s := range ss {
		target := s.rounds.Load() + n
		require.Eventually(t, func() bool { return s.rounds.Load() >= target },
			time.Duration(n+10)*testInterval*3, 5*time.Millisecond, "%d more rounds", n)
	}
}

// upRecorder records OnUpChange's calls.
type upRecorder struct {
	mu    sync.Mutex
	calls []bool
}

func (u *upRecorder) record(up bool) {
	u.mu.Lock()
	u.calls = append(u.calls, up)
	u.mu.Unlock()
}

func (u *upRecorder) get() []bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]bool(nil), u.calls...)
}

// observedLogger returns a logger that keeps what it logs at INFO and above.
func observedLogger() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	return zap.New(core), logs
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// messages returns the messages of logs at level.
func messages(logs *observer.ObservedLogs, level zapcore.Level) []string {
	var out []string
	for _, e := range logs.All() {
		if e.Level == level && strings.HasPrefix(e.Message, "shared state:") {
			out = append(out, e.Message)
		}
	}
	return out
}
