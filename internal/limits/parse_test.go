package limits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]int64{
		"60": 60, "200k": 200_000, "200K": 200_000, "1m": 1_000_000, "1.5k": 1500, "2.5M": 2_500_000, " 7 ": 7,
	} {
		got, err := ParseQuantity(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "k", "1.0001k", "1e3", "0x10k", "ten", "1.5", "inf k", "NaNk", "1_000"} {
		_, err := ParseQuantity(in)
		assert.Error(t, err, in)
	}
}

func TestParseUSD(t *testing.T) {
	for in, want := range map[string]float64{"25": 25, "$25": 25, "0.50": 0.5, "$0.000001": 0.000001} {
		got, err := ParseUSD(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, 1e-12, in)
	}
	for _, in := range []string{"", "$", "-5", "$-5", "NaN", "Inf", "25 USD", "0x10"} {
		_, err := ParseUSD(in)
		assert.Error(t, err, in)
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1m": time.Minute, "90s": 90 * time.Second, "1h": time.Hour, "1d": 24 * time.Hour, "30d": 720 * time.Hour,
	} {
		got, err := parseWindow(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "d", "1.5d", "-1d", "0d", "1w", "1ns", "-1m", "month"} {
		_, err := parseWindow(in)
		assert.Error(t, err, in)
	}
}

func TestMicroUSD(t *testing.T) {
	m, err := microUSD(25)
	require.NoError(t, err)
	assert.Equal(t, int64(25_000_000), m)
	m, err = microUSD(0.1 + 0.2) // float noise rounds away
	require.NoError(t, err)
	assert.Equal(t, int64(300_000), m)
	for _, bad := range []float64{0, -1, 1e-9, 2e12} {
		_, err := microUSD(bad)
		assert.Error(t, err, bad)
	}
}
