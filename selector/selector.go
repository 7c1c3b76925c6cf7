package selector

import "math/rand/v2"

// Selector ranks routes ([Selector.Rank], [Selector.Admit]) and records what
// happens to them ([Selector.ObserveSuccess], [Selector.ObserveFailure]).
// Its configuration is fixed at creation; what it learns lives in the
// Routes the caller passes in, so a config reload can build a new Selector
// over the same Routes without forgetting anything.
//
// A Selector is safe for concurrent use. Make one with New.
type Selector struct {
	cfg  Config
	rand func() float64
}

// New returns a Selector with cfg, its zero fields set to their defaults.
// Fields that Validate rejects are set to their defaults too, so call
// Validate first to tell the user.
func New(cfg Config) *Selector {
	s := &Selector{cfg: cfg.withDefaults(), rand: cfg.Rand}
	if s.rand == nil {
		// The top-level functions of math/rand/v2 are safe for concurrent
		// use and do not allocate.
		s.rand = rand.Float64
	}
	return s
}

// Config returns the configuration in use, defaults applied. Its Rand is
// what was passed to New (nil for math/rand/v2).
func (s *Selector) Config() Config {
	return s.cfg
}
