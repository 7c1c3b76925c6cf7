// Package testservices finds the real PostgreSQL and Redis servers that the
// tests of the SQL ledger and of the shared state talk to.
//
// The addresses come from environment variables, with the loopback defaults
// that .ci/run sets up. When a server does not answer, the test skips with a
// message that says how to start it; in CI (CI=true) it fails instead, so a
// missing server never turns a red run green.
//
// It also has what tests around those servers share: Proxy, which tests cut
// to simulate an outage without stopping a shared server, RunWithDataDir,
// which gives a test binary a Caddy data directory of its own, and
// ReloadRetry, the integration harnesses' transport. It imports nothing of
// Caddy.
package testservices

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Environment variables that override the default addresses.
const (
	PostgresEnv = "LLMROUTER_TEST_POSTGRES" // a PostgreSQL URL
	RedisEnv    = "LLMROUTER_TEST_REDIS"    // host:port
)

// Defaults: the servers .ci/run starts, PostgreSQL with trust
// authentication on loopback.
const (
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedis    = "127.0.0.1:6379"
)

// PostgresURL returns the URL of the test PostgreSQL server, or skips (fails
// in CI) when nothing answers there.
func PostgresURL(t testing.TB) string {
	t.Helper()
	dsn := env(PostgresEnv, DefaultPostgres)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s=%q: %v", PostgresEnv, dsn, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	require(t, "PostgreSQL", host, PostgresEnv,
		"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
	return dsn
}

// RedisAddr returns the address of the test Redis server, or skips (fails
// in CI) when nothing answers there.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := env(RedisEnv, DefaultRedis)
	require(t, "Redis", addr, RedisEnv,
		`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`)
	return addr
}

// InCI reports whether the tests run in CI, where every server must be up.
func InCI() bool { return os.Getenv("CI") == "true" }

func require(t testing.TB, name, addr, envName, start string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		conn.Close()
		return
	}
	msg := name + " is not reachable at " + addr + " (" + err.Error() + "). Start it (" + start +
		", or run .ci/run, which installs and starts it), or point " + envName + " at one."
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
