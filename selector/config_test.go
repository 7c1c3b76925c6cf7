package selector

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateAcceptsZeroAndDefaults(t *testing.T) {
	assert.NoError(t, Config{}.Validate())
	assert.NoError(t, New(Config{}).Config().Validate())
	assert.NoError(t, Config{ExplorationShare: -1}.Validate(), "a negative share disables exploration")
	assert.NoError(t, Config{ExplorationShare: 1}.Validate())
	assert.NoError(t, Config{CooldownBase: time.Minute, CooldownMax: time.Minute}.Validate())
}

func TestValidateNamesField(t *testing.T) {
	cases := []struct {
		cfg   Config
		field string
	}{
		{Config{HalfLife: -time.Second}, "half_life"},
		{Config{ExplorationShare: 1.5}, "exploration"},
		{Config{ExplorationShare: math.NaN()}, "exploration"},
		{Config{StaleAfter: -1}, "stale_after"},
		{Config{CooldownBase: -1}, "cooldown_base"},
		{Config{CooldownMax: -1}, "cooldown_max"},
		{Config{FailureThreshold: -2}, "failure_threshold"},
		{Config{QuotaCooldown: -time.Hour}, "quota_cooldown"},
		{Config{ProbeTimeout: -time.Second}, "probe_timeout"},
		// Against the other's default: 10m base, 5m default max.
		{Config{CooldownBase: 10 * time.Minute}, "cooldown_max"},
		{Config{CooldownBase: time.Minute, CooldownMax: time.Second}, "cooldown_max"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		require.Error(t, err, "%+v", c.cfg)
		assert.Contains(t, err.Error(), c.field)
	}
}

func TestValidateReportsAll(t *testing.T) {
	err := Config{HalfLife: -1, FailureThreshold: -1}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "half_life")
	assert.Contains(t, err.Error(), "failure_threshold")
}

func TestInvalidValuesTakeDefaults(t *testing.T) {
	got := New(Config{
		HalfLife:         -time.Second,
		ExplorationShare: 7,
		FailureThreshold: -1,
		ProbeTimeout:     -1,
	}).Config()
	assert.Equal(t, DefaultHalfLife, got.HalfLife)
	assert.Equal(t, DefaultExplorationShare, got.ExplorationShare)
	assert.Equal(t, DefaultFailureThreshold, got.FailureThreshold)
	assert.Equal(t, DefaultProbeTimeout, got.ProbeTimeout)
}

func TestCooldown(t *testing.T) {
	cfg := New(Config{}).Config()
	cases := []struct {
		opens int
		want  time.Duration
	}{
		{0, 5 * time.Second},
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{7, 5 * time.Minute}, // 320s, capped
		{8, 5 * time.Minute},
		{1 << 40, 5 * time.Minute},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, cfg.cooldown(c.opens), "%d opens", c.opens)
	}

	inverted := Config{CooldownBase: time.Minute, CooldownMax: time.Second}
	assert.Equal(t, time.Second, inverted.cooldown(1), "never above the cap")
}
