package sharedstate

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/selector"
)

// Shared is a selector.Store whose routes share what they learn, and their
// breakers, with the other instances that use the same Redis and key
// prefix. See the package documentation.
type Shared struct {
	cfg    *settings
	client *redis.Client
	keys   keys

	mu     sync.Mutex
	routes map[string]*route // guarded by mu

	// kick asks the sync loop for a round now (a new route, a
	// resubscription); breakers carries openings to the publisher.
	kick     chan struct{}
	breakers chan breakerEvent

	upMu     sync.Mutex // orders the reports of reachability
	up       atomic.Bool
	known    bool      // guarded by upMu: a reachability was reported
	upSince  time.Time // guarded by upMu: when the call that set the current reachability started
	outageAt time.Time

	// rounds counts the sync rounds that succeeded (tests wait on it);
	// subscribed counts the (re)subscriptions to the breakers channel.
	rounds     atomic.Int64
	subscribed atomic.Int64
	// instances is how many live instances the last round counted.
	instances atomic.Int64

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	psMu      sync.Mutex
	ps        *redis.PubSub // the current subscription; guarded by psMu
}

var _ selector.Store = (*Shared)(nil)

// breakerEvent is a breaker to publish: a route's, as it stood after a
// failure opened it or made its cooldown longer.
type breakerEvent struct {
	key string
	rec selector.BreakerRecord
	at  time.Time
}

// breakerQueue is how many openings may wait for the publisher. More are
// dropped: the next sync round publishes every breaker anyway.
const breakerQueue = 256

// Open checks cfg and starts sharing. Only a bad configuration is an error:
// a Redis that does not answer is retried in the background, and the
// routes work on what this instance learns meanwhile. Close stops it.
func Open(cfg Config) (*Shared, error) {
	st, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Shared{
		cfg:      st,
		client:   redis.NewClient(st.opts),
		keys:     keys{prefix: st.KeyPrefix},
		routes:   make(map[string]*route),
		kick:     make(chan struct{}, 1),
		breakers: make(chan breakerEvent, breakerQueue),
		ctx:      ctx,
		cancel:   cancel,
	}
	s.wg.Add(3)
	go s.syncLoop()
	go s.publishLoop()
	go s.subscribeLoop()
	return s, nil
}

// Route implements selector.Store. A route new to this instance starts with
// what the fleet learned as soon as a sync round (scheduled at once) has
// read it.
func (s *Shared) Route(key string) selector.Route {
	s.mu.Lock()
	r, ok := s.routes[key]
	if !ok {
		r = newRoute(s, key)
		s.routes[key] = r
	}
	r.refs++
	s.mu.Unlock()
	if !ok {
		s.requestRound()
	}
	return r
}

// Release implements selector.Store. A route released by every user is
// dropped, and no longer published.
func (s *Shared) Release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.routes[key]; ok {
		if r.refs--; r.refs <= 0 {
			delete(s.routes, key)
		}
	}
}

// Instances is how many instances share the state: the live ones the last
// sync round counted (those whose alive key, refreshed every round and
// expiring 3 SyncIntervals after, exists), this one included; at least 1,
// also before the first round and when Redis does not answer (the last
// count stands). A limiter enforcing limits locally during an outage
// divides them by it.
func (s *Shared) Instances() int { return int(max(s.instances.Load(), 1)) }

// Up reports whether Redis answered the last time it was asked.
func (s *Shared) Up() bool { return s.up.Load() }

// Close stops sharing: the background work ends, nothing more is
// published, and the connections close. What this instance published
// expires on its own. Close is idempotent; the routes it handed out keep
// working, in memory only.
func (s *Shared) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		s.psMu.Lock()
		if s.ps != nil {
			_ = s.ps.Close() // unblocks the subscriber's read
		}
		s.psMu.Unlock()
		s.wg.Wait()
		s.closeErr = s.client.Close()
	})
	return s.closeErr
}

// requestRound asks the sync loop for a round soon, without waiting.
func (s *Shared) requestRound() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// snapshotRoutes returns the routes in use, in no particular order.
func (s *Shared) snapshotRoutes() []*route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*route, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, r)
	}
	return out
}

// lookup returns the route in use for key, or nil.
func (s *Shared) lookup(key string) *route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routes[key]
}

// callContext returns a context for one call to Redis: CommandTimeout, and
// done when Close is called.
func (s *Shared) callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.cfg.CommandTimeout)
}

// report records the outcome of a call to Redis that started at started:
// err nil, or an error that Redis itself answered (a script error, say),
// means it is up; any other error, down. It logs once per outage and calls
// OnUpChange on changes.
//
// Calls finish out of order: one that hung on a Redis that stopped answering
// can time out after a later call found it answering again. An outcome says
// how Redis was when its call started, so a call that started before the one
// that set the current state cannot overturn it.
func (s *Shared) report(started time.Time, err error) {
	up := err == nil || isServerReply(err)
	if s.closed.Load() {
		return
	}
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if s.closed.Load() || (s.known && (s.up.Load() == up || started.Before(s.upSince))) {
		return
	}
	wasKnown := s.known
	s.known = true
	s.upSince = started
	s.up.Store(up)
	switch {
	case !up:
		s.outageAt = time.Now()
		s.cfg.Logger.Warn("shared state: Redis unreachable, carrying on with local state",
			zap.String("instance", s.cfg.InstanceID), zap.Error(err))
	case wasKnown:
		s.cfg.Logger.Info("shared state: Redis reachable again, sharing state",
			zap.String("instance", s.cfg.InstanceID), zap.Duration("outage", time.Since(s.outageAt)))
	}
	if s.cfg.OnUpChange != nil {
		s.cfg.OnUpChange(up)
	}
}

// isServerReply reports whether err is an error reply of Redis about the
// command (a script error, say), as opposed to a failure to reach it or a
// Redis that cannot serve (loading, read-only, refusing our credentials).
func isServerReply(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	msg := rerr.Error()
	for _, unusable := range []string{"NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "MASTERDOWN", "READONLY", "BUSY", "MISCONF"} {
		if strings.HasPrefix(msg, unusable) {
			return false
		}
	}
	return true
}

// backoff is the delay before the next try after failures: doubling from
// min to max, with jitter.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return jitter(b.cur)
}

func (b *backoff) reset() { b.cur = 0 }

// jitter returns d give or take a tenth, so that instances started together
// do not stay in step.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	n := time.Now().UnixNano() // cheap and good enough to spread instances
	return d - d/10 + time.Duration(n%int64(d/5+1))
}

// retryBackoff is the backoff of the sync loop and the subscriber: from a
// quarter of the sync interval (between 50 ms and 1 s) up to the sync
// interval (at least 1 s).
func (s *Shared) retryBackoff() backoff {
	return backoff{
		min: min(max(s.cfg.SyncInterval/4, 50*time.Millisecond), time.Second),
		max: max(s.cfg.SyncInterval, time.Second),
	}
}

// sleep waits d, and reports false when Close was called meanwhile.
func (s *Shared) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
