package sharedstate

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-llm/llmrouter/selector"
)

// publishBreaker hands a breaker that a failure here opened (or whose
// cooldown it made longer) to the publisher, without waiting: when the
// queue is full the breaker is dropped, and the next sync round carries it.
func (s *Shared) publishBreaker(key string, rec selector.BreakerRecord, at time.Time) {
	if s.closed.Load() {
		return
	}
	select {
	case s.breakers <- breakerEvent{key: key, rec: rec, at: at}:
	default:
	}
}

// publishBatch is how many breakers one pipeline publishes at most.
const publishBatch = 64

// publishLoop publishes the breakers handed over, a batch per round trip.
// A batch that fails is dropped: the sync rounds publish every breaker
// once Redis answers again.
func (s *Shared) publishLoop() {
	defer s.wg.Done()
	batch := make([]breakerEvent, 0, publishBatch)
	for {
		select {
		case <-s.ctx.Done():
			return
		case ev := <-s.breakers:
			batch = append(batch[:0], ev)
		}
	more:
		for len(batch) < publishBatch {
			select {
			case ev := <-s.breakers:
				batch = append(batch, ev)
			default:
				break more
			}
		}
		started := time.Now()
		err := s.publish(batch)
		if s.ctx.Err() != nil {
			return
		}
		s.report(started, err)
	}
}

// publish sets each breaker's key until its cooldown ends and announces it
// on the breakers channel, in one round trip.
func (s *Shared) publish(batch []breakerEvent) error {
	return s.call(func(ctx context.Context) error {
		now := time.Now()
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, ev := range batch {
				ttl := ev.rec.OpenUntil.Sub(now)
				if ttl < time.Millisecond {
					continue // the cooldown is already over
				}
				msg := breakerMessage{I: s.cfg.InstanceID, R: ev.key, K: toWireBreaker(ev.rec)}
				value, err := json.Marshal(&msg.K)
				if err != nil {
					return err
				}
				payload, err := json.Marshal(&msg)
				if err != nil {
					return err
				}
				p.Set(ctx, s.keys.breaker(ev.key), value, ttl)
				p.Publish(ctx, s.keys.breakerChannel(), payload)
			}
			return nil
		})
		return err
	})
}

// decodeBreaker reads the value of a breaker key.
func decodeBreaker(data []byte) (selector.BreakerRecord, error) {
	var w wireBreaker
	if err := json.Unmarshal(data, &w); err != nil {
		return selector.BreakerRecord{}, err
	}
	return w.record(), nil
}

// subscribeLoop keeps a subscription to the breakers channel, and
// resubscribes, with backoff, when it breaks. Each (re)subscription asks
// for a sync round, which reads the breaker keys: what was published while
// this instance was not listening is honoured too.
func (s *Shared) subscribeLoop() {
	defer s.wg.Done()
	bo := s.retryBackoff()
	for {
		if s.listen() {
			bo.reset()
		}
		if s.ctx.Err() != nil || !s.sleep(bo.next()) {
			return
		}
	}
}

// listen subscribes and applies the breakers received until the
// subscription breaks, and reports whether it got as far as subscribing.
// It pings when the channel is quiet, and gives up on a connection that
// does not answer the ping within as long again.
func (s *Shared) listen() (subscribed bool) {
	ps := s.client.Subscribe(s.ctx) // no channel yet: no connection yet
	s.psMu.Lock()
	if s.closed.Load() {
		s.psMu.Unlock()
		_ = ps.Close()
		return false
	}
	s.ps = ps
	s.psMu.Unlock()
	defer func() {
		s.psMu.Lock()
		s.ps = nil
		s.psMu.Unlock()
		_ = ps.Close()
	}()

	if err := ps.Subscribe(s.ctx, s.keys.breakerChannel()); err != nil {
		return false
	}
	quiet := max(s.cfg.SyncInterval, time.Second)
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(s.ctx, quiet)
		if err != nil {
			if pinged || !isTimeout(err) {
				return subscribed
			}
			if ps.Ping(s.ctx) != nil {
				return subscribed
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				subscribed = true
				s.subscribed.Add(1)
				s.requestRound()
			}
		case *redis.Message:
			s.receive(m.Payload)
		}
	}
}

// receive merges a breaker another instance published into the route's
// view, if this instance uses the route.
func (s *Shared) receive(payload string) {
	var m breakerMessage
	if json.Unmarshal([]byte(payload), &m) != nil || m.I == s.cfg.InstanceID {
		return
	}
	if r := s.lookup(m.R); r != nil {
		r.Absorb(selector.State{Breaker: m.K.record()}, s.halfLife())
	}
}

func isTimeout(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}
