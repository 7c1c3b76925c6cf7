package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStrategyRoundTrip(t *testing.T) {
	for _, s := range []Strategy{Perf, PerfAvg, Price} {
		got, ok := ParseStrategy(s.String())
		require.True(t, ok, s.String())
		assert.Equal(t, s, got)
	}
	assert.Equal(t, "perf", Perf.String())
	assert.Equal(t, "perf-avg", PerfAvg.String())
	assert.Equal(t, "price", Price.String())
}

func TestParseStrategyRejects(t *testing.T) {
	for _, s := range []string{"", "Perf", "PRICE", "perf_avg", "perfavg", " perf", "perf ", "cheapest"} {
		_, ok := ParseStrategy(s)
		assert.False(t, ok, "%q", s)
	}
}

func TestStrategyStringUnknown(t *testing.T) {
	assert.Equal(t, "Strategy(9)", Strategy(9).String())
}
