package llmrouter

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/caddy-llm/llmrouter/internal/sharedstate"
	"github.com/caddy-llm/llmrouter/selector"
)

// SharedConfig shares what the router learns between the Caddy instances of
// a fleet, so that they route as one.
type SharedConfig struct {
	// Redis keeps the shared state.
	Redis *RedisConfig `json:"redis,omitempty"`
}

// RedisConfig is the Redis server a fleet shares.
//
// What is shared, by how consistent it must be:
//
//   - Breakers: an instance that opens a vendor's breaker (errors, a 429
//     with Retry-After, an exhausted quota, a rejected key) publishes it,
//     and every instance honours it within a second.
//   - Latency statistics: each instance ranks from its own memory, with no
//     network call per request, and the instances merge what they measured
//     every sync_interval, weighted by samples, so that a new or restarted
//     instance starts warm.
//
// When Redis is down or slow, no request fails: every call has a timeout,
// each instance carries on with what it knows, and it catches up when Redis
// is back. A WARN line once per outage and the metric
// `caddy_llm_router_shared_state_up` show it.
type RedisConfig struct {
	// The server: `host:port`, or a URL `redis://[user:password@]host:port/db`
	// (`rediss://` for TLS). Required. Placeholders are resolved at load
	// time.
	Address string `json:"address,omitempty"`

	// The ACL user and password, if not in the URL. Use a placeholder such
	// as `{env.REDIS_PASSWORD}`; it is never logged.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// The database number. Default: 0, or the URL's.
	DB int `json:"db,omitempty"`

	// Connect with TLS, verifying the server against the system's roots
	// (implied by a `rediss://` URL). TLSServerName overrides the name
	// verified.
	TLS           bool   `json:"tls,omitempty"`
	TLSServerName string `json:"tls_server_name,omitempty"`

	// What every key of the router starts with, so that several fleets can
	// share one Redis. Default: `llm_router:`.
	KeyPrefix string `json:"key_prefix,omitempty"`

	// How long to wait for a connection, and for any one command. Defaults:
	// 1s and 500ms. No request waits for either: Redis is never called on a
	// request's path.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`
	Timeout     caddy.Duration `json:"timeout,omitempty"`

	// How often the instances merge their latency statistics. Default: 5s.
	SyncInterval caddy.Duration `json:"sync_interval,omitempty"`
}

// sharedStores holds the open shared stores by their configuration, so that
// a reload keeps the connection and everything learned, as routeStates does
// for the in-memory routes.
var sharedStores = caddy.NewUsagePool()

// pooledShared is a shared store as sharedStores keeps it.
type pooledShared struct{ *sharedstate.Shared }

// Destruct stops the store's goroutines and closes its connections.
func (s pooledShared) Destruct() error { return s.Close() }

// provisionStore picks where the handler's routes keep what they learn: in
// the process, or shared through Redis.
func (h *LLMRouter) provisionStore() (selector.Store, error) {
	if h.Shared == nil || h.Shared.Redis == nil {
		return routePool{}, nil
	}
	rc := *h.Shared.Redis
	repl := caddy.NewReplacer()
	for _, s := range []*string{&rc.Address, &rc.Username, &rc.Password, &rc.TLSServerName, &rc.KeyPrefix} {
		*s = repl.ReplaceKnown(*s, "")
	}
	if rc.Address == "" {
		return nil, fmt.Errorf("shared redis: address is required")
	}
	for name, d := range map[string]caddy.Duration{"dial_timeout": rc.DialTimeout, "timeout": rc.Timeout, "sync_interval": rc.SyncInterval} {
		if d < 0 {
			return nil, fmt.Errorf("shared redis: %s must be positive, got %s", name, time.Duration(d))
		}
	}
	// The key holds the password: it stays in memory, never in a log.
	keyJSON, err := json.Marshal(rc)
	if err != nil {
		return nil, err
	}
	key := string(keyJSON)
	redisLoggerOnce.Do(func() { redis.SetLogger(redisLogger{h.logger.Named("shared")}) })
	v, _, err := sharedStores.LoadOrNew(key, func() (caddy.Destructor, error) {
		s, err := sharedstate.Open(sharedstate.Config{
			Address:        rc.Address,
			Username:       rc.Username,
			Password:       rc.Password,
			DB:             rc.DB,
			TLS:            rc.TLS,
			TLSServerName:  rc.TLSServerName,
			KeyPrefix:      rc.KeyPrefix,
			DialTimeout:    time.Duration(rc.DialTimeout),
			CommandTimeout: time.Duration(rc.Timeout),
			SyncInterval:   time.Duration(rc.SyncInterval),
			HalfLife:       h.selector.Config().HalfLife,
			Logger:         h.logger.Named("shared"),
		})
		if err != nil {
			return nil, err
		}
		return pooledShared{s}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("shared redis: %v", err)
	}
	h.sharedKeyInPool = key
	return v.(pooledShared).Shared, nil
}

// cleanupStore releases the handler's hold on its shared store.
func (h *LLMRouter) cleanupStore() error {
	if h.sharedKeyInPool == "" {
		return nil
	}
	_, err := sharedStores.Delete(h.sharedKeyInPool)
	h.sharedKeyInPool = ""
	return err
}

// Interface guards
var _ caddy.Destructor = pooledShared{}

// redisLogger sends go-redis's own log lines (a failed dial on every retry
// during an outage) to the debug level of the router's logger: the outage
// itself is logged once, at WARN, by the shared store. go-redis has one
// logger per process, so the first shared store's logger gets them.
type redisLogger struct{ logger *zap.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	if ce := l.logger.Check(zap.DebugLevel, "redis client"); ce != nil {
		ce.Write(zap.String("message", fmt.Sprintf(format, v...)))
	}
}

var redisLoggerOnce sync.Once
