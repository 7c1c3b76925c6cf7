package sharedstate

import (
	"context"
	"time"
)

func (k keys) claim(name string) string { return k.prefix + "claim:" + name }

// Claim reports whether this instance won name for ttl: the first instance
// to claim it within ttl does, the others do not, so that a periodic job
// (a vendor's health probe) runs once per period across the fleet. It is
// one SET NX PX. When Redis cannot answer, the error says so and the
// caller decides (a probe runs anyway: an extra free call beats none).
func (s *Shared) Claim(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommandTimeout)
	defer cancel()
	started := time.Now()
	won, err := s.client.SetNX(ctx, s.keys.claim(name), s.cfg.InstanceID, ttl).Result()
	s.report(started, err)
	return won, err
}
