package sharedstate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	st, err := newSettings(Config{Address: "10.0.0.1:6380"})
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1:6380", st.opts.Addr)
	assert.Equal(t, DefaultKeyPrefix, st.KeyPrefix)
	assert.Equal(t, time.Second, st.opts.DialTimeout)
	assert.Equal(t, 500*time.Millisecond, st.opts.ReadTimeout)
	assert.Equal(t, 500*time.Millisecond, st.opts.WriteTimeout)
	assert.True(t, st.opts.ContextTimeoutEnabled, "contexts bound every call")
	assert.Equal(t, -1, st.opts.MaxRetries, "a reservation is never sent twice")
	assert.Equal(t, 5*time.Second, st.SyncInterval)
	assert.Equal(t, 15*time.Second, st.stateTTL())
	assert.Len(t, st.InstanceID, 16)
	assert.Nil(t, st.opts.TLSConfig)
	assert.NotNil(t, st.Logger)

	other, err := newSettings(Config{Address: "10.0.0.1:6380"})
	require.NoError(t, err)
	assert.NotEqual(t, st.InstanceID, other.InstanceID, "random")
}

func TestConfigURLAndOverrides(t *testing.T) {
	st, err := newSettings(Config{Address: "rediss://u:p@cache.example:6390/3"})
	require.NoError(t, err)
	assert.Equal(t, "cache.example:6390", st.opts.Addr)
	assert.Equal(t, "u", st.opts.Username)
	assert.Equal(t, "p", st.opts.Password)
	assert.Equal(t, 3, st.opts.DB)
	require.NotNil(t, st.opts.TLSConfig, "rediss implies TLS")
	assert.Equal(t, "cache.example", st.opts.TLSConfig.ServerName)
	assert.True(t, st.TLS)

	st, err = newSettings(Config{Address: "redis://u:p@cache.example:6390/3", Username: "v", Password: "q", DB: 5,
		TLS: true, TLSServerName: "redis.internal", KeyPrefix: "x:", InstanceID: "caddy 1",
		DialTimeout: 2 * time.Second, CommandTimeout: time.Second, SyncInterval: time.Second})
	require.NoError(t, err)
	assert.Equal(t, "v", st.opts.Username)
	assert.Equal(t, "q", st.opts.Password)
	assert.Equal(t, 5, st.opts.DB)
	require.NotNil(t, st.opts.TLSConfig)
	assert.Equal(t, "redis.internal", st.opts.TLSConfig.ServerName)
	assert.Equal(t, "x:", st.KeyPrefix)
	assert.Equal(t, "llm_router:caddy_1", st.opts.ClientName, "no spaces in a client name")
	assert.Equal(t, 2*time.Second, st.opts.DialTimeout)
	assert.Equal(t, time.Second, st.opts.ReadTimeout)

	st, err = newSettings(Config{Address: "[::1]:6379", TLS: true})
	require.NoError(t, err)
	assert.Equal(t, "::1", st.opts.TLSConfig.ServerName)
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Address: "  "},
		{Address: "http://x:6379"},
		{Address: "redis://x:6379/notanumber"},
		{Address: "x:6379", DB: -1},
		{Address: "x:6379", CommandTimeout: -time.Second},
		{Address: "x:6379", SyncInterval: -time.Second},
	} {
		_, err := Open(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, err := Open(Config{Address: "redis://user:secret@x:6379/notanumber"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret", "the error does not repeat the password")
}
