package sharedstate

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/zap"
)

// Defaults of Config.
const (
	DefaultKeyPrefix      = "llm_router:"
	DefaultDialTimeout    = time.Second
	DefaultCommandTimeout = 500 * time.Millisecond
	DefaultSyncInterval   = 5 * time.Second
)

// Config says where the shared state lives and how this instance takes part.
type Config struct {
	// Address is "host:port", or a redis:// or rediss:// URL (rediss: TLS),
	// which may carry the user, password and database.
	Address string
	// Username and Password, when set, override the URL's.
	Username, Password string
	// DB is the database number; it overrides the URL's when not 0.
	DB int
	// TLS connects with TLS, verified against the system roots. A rediss://
	// URL implies it.
	TLS bool
	// TLSServerName is the name the server's certificate must carry; the
	// address's host by default.
	TLSServerName string
	// KeyPrefix starts every key and channel name; DefaultKeyPrefix when
	// empty. Instances that share state use the same prefix.
	KeyPrefix string
	// DialTimeout bounds a connection attempt (DefaultDialTimeout), and
	// CommandTimeout every command or pipeline (DefaultCommandTimeout).
	DialTimeout, CommandTimeout time.Duration
	// SyncInterval is how often this instance publishes what it learned and
	// reads what the others did; DefaultSyncInterval when 0. Instances that
	// share state should use the same one: what an instance published
	// expires after 3 of its intervals.
	SyncInterval time.Duration
	// HalfLife is the half-life of learned means, passed to selector.Merge;
	// the selector's default when 0.
	HalfLife time.Duration
	// InstanceID names this instance's published state; random when empty.
	// Two live instances must not share one.
	InstanceID string
	// Logger receives one WARN when Redis becomes unreachable and one INFO
	// when it is back; nothing when nil.
	Logger *zap.Logger
	// OnUpChange, when set, is called with the first known reachability of
	// Redis and then on every change, one call at a time (a gauge).
	OnUpChange func(up bool)
}

// settings is a Config with its defaults applied and its address parsed.
type settings struct {
	Config
	opts *redis.Options
}

// stateTTL is how long an instance's published state outlives its last
// publication: three intervals, so that a late round or two do not make a
// live instance look dead.
func (s *settings) stateTTL() time.Duration { return 3 * s.SyncInterval }

// newSettings checks cfg and fills in its defaults.
func newSettings(cfg Config) (*settings, error) {
	if strings.TrimSpace(cfg.Address) == "" {
		return nil, errors.New("shared state: no Redis address")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"dial timeout", cfg.DialTimeout}, {"command timeout", cfg.CommandTimeout},
		{"sync interval", cfg.SyncInterval}, {"half-life", cfg.HalfLife},
	} {
		if d.v < 0 {
			return nil, fmt.Errorf("shared state: negative %s %v", d.name, d.v)
		}
	}
	if cfg.DB < 0 {
		return nil, fmt.Errorf("shared state: negative database number %d", cfg.DB)
	}
	orDefault(&cfg.DialTimeout, DefaultDialTimeout)
	orDefault(&cfg.CommandTimeout, DefaultCommandTimeout)
	orDefault(&cfg.SyncInterval, DefaultSyncInterval)
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = randomID()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}

	var opts *redis.Options
	if strings.Contains(cfg.Address, "://") {
		var err error
		if opts, err = redis.ParseURL(cfg.Address); err != nil {
			// ParseURL's errors do not repeat the URL, which may hold a
			// password: say which setting it was, not what it held.
			return nil, fmt.Errorf("shared state: Redis address: %w", err)
		}
	} else {
		opts = &redis.Options{Addr: cfg.Address}
	}
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	if cfg.DB != 0 {
		opts.DB = cfg.DB
	}
	if cfg.TLS && opts.TLSConfig == nil {
		host := opts.Addr
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		opts.TLSConfig = &tls.Config{ServerName: strings.Trim(host, "[]"), MinVersion: tls.VersionTLS12}
	}
	if opts.TLSConfig != nil {
		cfg.TLS = true
		if cfg.TLSServerName != "" {
			opts.TLSConfig.ServerName = cfg.TLSServerName
		}
	}

	// Every call is bounded: the dial, each read and write, and the
	// context, whose deadline go-redis honours only when told to.
	opts.DialTimeout = cfg.DialTimeout
	opts.ReadTimeout = cfg.CommandTimeout
	opts.WriteTimeout = cfg.CommandTimeout
	opts.PoolTimeout = cfg.CommandTimeout
	opts.ContextTimeoutEnabled = true
	// The loops here retry on their own schedule, and a reservation must
	// not be sent twice: no retries inside go-redis, one dial per try.
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if opts.ClientName == "" {
		opts.ClientName = "llm_router:" + strings.Map(func(r rune) rune {
			if r <= ' ' || r > '~' {
				return '_' // CLIENT SETNAME takes no spaces
			}
			return r
		}, cfg.InstanceID)
	}
	return &settings{Config: cfg, opts: opts}, nil
}

func orDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// randomID returns 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}
