package sharedstate

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/selector"
)

// keys names everything this package keeps in Redis; see the package
// documentation for the layout.
type keys struct{ prefix string }

func (k keys) instances() string            { return k.prefix + "instances" }
func (k keys) state(instance string) string { return k.prefix + "state:" + instance }
func (k keys) alive(instance string) string { return k.prefix + "alive:" + instance }
func (k keys) breaker(route string) string  { return k.prefix + "breaker:" + route }
func (k keys) breakerChannel() string       { return k.prefix + "breakers" }
func (k keys) rate(name string) string      { return k.prefix + "rate:" + name }
func (k keys) budget(name string) string    { return k.prefix + "budget:" + name }
func (k keys) slots(name string) string     { return k.prefix + "slots:" + name }

// registryAge is how long an instance stays in the registry after its last
// round, by the clock of whoever prunes it. The registry is only an index:
// an instance is live while its state key (which Redis expires, whatever
// the clocks say) exists. It is generous so that clocks may disagree.
func (s *Shared) registryAge() time.Duration { return max(10*s.cfg.stateTTL(), time.Minute) }

// halfLife is the half-life merges use.
func (s *Shared) halfLife() time.Duration {
	if s.cfg.HalfLife > 0 {
		return s.cfg.HalfLife
	}
	return selector.DefaultHalfLife
}

// syncLoop runs a round every SyncInterval, at once when asked (a new
// route, a resubscription), and with backoff while Redis does not answer.
func (s *Shared) syncLoop() {
	defer s.wg.Done()
	bo := s.retryBackoff()
	timer := time.NewTimer(0) // the first round at once
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		case <-s.kick:
		}
		started := time.Now()
		err := s.round()
		if s.ctx.Err() != nil {
			return
		}
		s.report(started, err)
		if err != nil {
			timer.Reset(bo.next())
			continue
		}
		bo.reset()
		timer.Reset(jitter(s.cfg.SyncInterval))
	}
}

// round publishes what this instance learned about each of its routes,
// reads what the other live instances published and the breakers opened
// on the routes, and rebuilds each route's view from them. It takes two
// round trips for all routes together:
//
//  1. a transaction: replace this instance's state hash (and its TTL),
//     refresh its alive key and its entry in the registry, prune the
//     registry, list it, and read the routes' breaker keys;
//  2. a pipeline of one EXISTS of the other instances' alive keys, which
//     counts the live ones (Instances), and one HMGET of the routes per
//     other instance.
func (s *Shared) round() error {
	routes := s.snapshotRoutes()
	names := make([]string, len(routes))
	breakerKeys := make([]string, len(routes))
	fields := make([]any, 0, 2*len(routes))
	for i, r := range routes {
		names[i] = r.key
		breakerKeys[i] = s.keys.breaker(r.key)
		st := r.published()
		if isZero(&st) {
			continue
		}
		data, err := encodeState(&st)
		if err != nil {
			return err // cannot happen: a State has nothing JSON refuses
		}
		fields = append(fields, r.key, data)
	}

	now := time.Now()
	mine, registry := s.keys.state(s.cfg.InstanceID), s.keys.instances()
	var members *redis.StringSliceCmd
	var breakers *redis.SliceCmd
	if err := s.call(func(ctx context.Context) error {
		_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, mine)
			if len(fields) > 0 {
				p.HSet(ctx, mine, fields...)
				p.PExpire(ctx, mine, s.cfg.stateTTL())
			}
			p.Set(ctx, s.keys.alive(s.cfg.InstanceID), now.UnixMilli(), s.cfg.stateTTL())
			p.ZAdd(ctx, registry, redis.Z{Score: float64(now.UnixMilli()), Member: s.cfg.InstanceID})
			p.ZRemRangeByScore(ctx, registry, "-inf", "("+strconv.FormatInt(now.Add(-s.registryAge()).UnixMilli(), 10))
			p.PExpire(ctx, registry, s.registryAge())
			members = p.ZRange(ctx, registry, 0, -1)
			if len(routes) > 0 {
				breakers = p.MGet(ctx, breakerKeys...)
			}
			return nil
		})
		return err
	}); err != nil {
		return err
	}

	others := members.Val()[:0:0]
	for _, id := range members.Val() {
		if id != s.cfg.InstanceID {
			others = append(others, id)
		}
	}
	var states []*redis.SliceCmd
	live := 1
	if len(others) > 0 {
		alive := make([]string, len(others))
		for i, id := range others {
			alive[i] = s.keys.alive(id)
		}
		var exists *redis.IntCmd
		if err := s.call(func(ctx context.Context) error {
			_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				exists = p.Exists(ctx, alive...)
				if len(routes) > 0 {
					for _, id := range others {
						states = append(states, p.HMGet(ctx, s.keys.state(id), names...))
					}
				}
				return nil
			})
			return err
		}); err != nil {
			return err
		}
		live += int(exists.Val())
	}
	s.instances.Store(int64(live))

	hl := s.halfLife()
	for i, r := range routes {
		var others selector.State
		for _, cmd := range states {
			if data, ok := cmd.Val()[i].(string); ok {
				st, err := decodeState([]byte(data))
				if err != nil {
					s.cfg.Logger.Debug("shared state: unreadable state", zap.String("route", r.key), zap.Error(err))
					continue
				}
				others = selector.Merge(others, st, hl)
			}
		}
		if breakers != nil {
			if data, ok := breakers.Val()[i].(string); ok {
				if rec, err := decodeBreaker([]byte(data)); err == nil {
					others = selector.Merge(others, selector.State{Breaker: rec}, hl)
				}
			}
		}
		r.rebuild(others, hl)
	}
	s.rounds.Add(1)
	return nil
}

// call runs f with a context bounded by CommandTimeout.
func (s *Shared) call(f func(ctx context.Context) error) error {
	ctx, cancel := s.callContext()
	defer cancel()
	return f(ctx)
}

// isZero reports whether st holds nothing learned, which is not worth
// publishing.
func isZero(st *selector.State) bool {
	return *st == selector.State{}
}
