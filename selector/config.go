package selector

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults for the fields of Config left at zero.
const (
	// DefaultHalfLife: five minutes is long enough to average out the noise
	// of single requests and short enough that a vendor that got slower
	// loses its place (or one that recovered wins it back) within minutes.
	DefaultHalfLife = 5 * time.Minute
	// DefaultExplorationShare: 2% of requests keep the runners-up measured
	// at a small cost in latency, since a runner-up is usually close.
	DefaultExplorationShare = 0.02
	// DefaultStaleAfter: a route not measured for ten minutes (two
	// half-lives) gets one request to refresh its numbers, even when the
	// exploration share never happened to pick it.
	DefaultStaleAfter = 10 * time.Minute
	// DefaultCooldownBase: five seconds lets a blip pass without taking a
	// vendor away for long.
	DefaultCooldownBase = 5 * time.Second
	// DefaultCooldownMax: a vendor that keeps failing is tried again at
	// least every five minutes, so an outage is noticed to be over soon.
	DefaultCooldownMax = 5 * time.Minute
	// DefaultFailureThreshold: three failures in a row are rarely bad luck.
	DefaultFailureThreshold = 3
	// DefaultQuotaCooldown: an account out of money or quota does not
	// recover until someone pays or the quota period ends, so retrying it
	// every few seconds only adds failed attempts.
	DefaultQuotaCooldown = 1 * time.Hour
	// DefaultProbeTimeout: a half-open probe that has not reported back in
	// thirty seconds is presumed lost (its client went away, say), and the
	// next request may probe instead.
	DefaultProbeTimeout = 30 * time.Second
)

// Config holds the selector's tunables. Zero fields take the Default
// constants; Validate reports values that make no sense.
type Config struct {
	// HalfLife is how much wall time halves the weight of what was observed
	// before, in the time-decayed means a route keeps (time to first token
	// per bucket, decode speed, completion size). It is what lets a vendor
	// that was slow and has recovered win again. Default DefaultHalfLife.
	HalfLife time.Duration
	// ExplorationShare is the share of requests, in [0, 1], sent to a
	// healthy route that does not rank best, so that its numbers stay true.
	// A negative value disables exploration altogether, stale routes
	// included (0 means the default, DefaultExplorationShare).
	ExplorationShare float64
	// StaleAfter is how old the newest sample of a healthy route may get
	// before one request is sent to it to refresh it. Default
	// DefaultStaleAfter.
	StaleAfter time.Duration
	// CooldownBase is how long a breaker stays open the first time it
	// opens; every further opening without a success in between doubles it.
	// Default DefaultCooldownBase.
	CooldownBase time.Duration
	// CooldownMax caps the doubling cooldown. Default DefaultCooldownMax.
	CooldownMax time.Duration
	// FailureThreshold is how many consecutive failures open a breaker.
	// Default DefaultFailureThreshold.
	FailureThreshold int
	// QuotaCooldown is how long a breaker stays open after a quota or
	// billing failure, and the most a Retry-After can ask for. Default
	// DefaultQuotaCooldown.
	QuotaCooldown time.Duration
	// ProbeTimeout is how long the one request let through a half-open
	// breaker has to report back before another may try. Default
	// DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// Rand returns numbers in [0, 1) for exploration; tests set it to make
	// exploration deterministic. It must be safe for concurrent use when
	// the Selector is, and should not allocate. nil means math/rand/v2.
	Rand func() float64
}

// Validate reports the fields that are out of range, naming them as the
// llm_router configuration does (half_life, exploration, ...). Zero fields
// are valid: they take their defaults.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"half_life", c.HalfLife},
		{"stale_after", c.StaleAfter},
		{"cooldown_base", c.CooldownBase},
		{"cooldown_max", c.CooldownMax},
		{"quota_cooldown", c.QuotaCooldown},
		{"probe_timeout", c.ProbeTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %v", d.name, d.v))
		}
	}
	if math.IsNaN(c.ExplorationShare) || c.ExplorationShare > 1 {
		errs = append(errs, fmt.Errorf("exploration must be a share of requests between 0 and 1, got %v", c.ExplorationShare))
	}
	if c.FailureThreshold < 0 {
		errs = append(errs, fmt.Errorf("failure_threshold must not be negative, got %d", c.FailureThreshold))
	}
	// Compared with defaults applied: setting only one of them can conflict
	// with the other's default.
	if d := c.withDefaults(); c.CooldownBase >= 0 && c.CooldownMax >= 0 && d.CooldownMax < d.CooldownBase {
		errs = append(errs, fmt.Errorf("cooldown_max (%v) must not be less than cooldown_base (%v)", d.CooldownMax, d.CooldownBase))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields, and the invalid ones that
// Validate reports, set to their defaults, so that a Selector built without
// validating still behaves sanely.
func (c Config) withDefaults() Config {
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	orDefault(&c.HalfLife, DefaultHalfLife)
	orDefault(&c.StaleAfter, DefaultStaleAfter)
	orDefault(&c.CooldownBase, DefaultCooldownBase)
	orDefault(&c.CooldownMax, DefaultCooldownMax)
	orDefault(&c.QuotaCooldown, DefaultQuotaCooldown)
	orDefault(&c.ProbeTimeout, DefaultProbeTimeout)
	if c.ExplorationShare == 0 || math.IsNaN(c.ExplorationShare) || c.ExplorationShare > 1 {
		c.ExplorationShare = DefaultExplorationShare
	}
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	return c
}

// cooldown returns how long a breaker stays open on its opens-th opening in
// a row: min(CooldownBase * 2^(opens-1), CooldownMax), so never more than
// CooldownMax even when it is (invalidly) below CooldownBase.
func (c *Config) cooldown(opens int) time.Duration {
	d := c.CooldownBase
	// Doubling step by step, rather than shifting by opens-1, cannot
	// overflow however long the run.
	for i := 1; i < opens && d < c.CooldownMax; i++ {
		d *= 2
	}
	return min(d, c.CooldownMax)
}
