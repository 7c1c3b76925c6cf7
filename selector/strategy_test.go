package selector

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStrategyRoundTrip(t *testing.T) {
	for _, s := range []Strategy{Perf, PerfAvg, Price, TTFT, Throughput} {
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

// The strategies are numbered 0 to n-1 without gaps, so that a caller's
// array indexed by Strategy (MaxStrategies long) has a slot for each.
func TestStrategyRegistryIsDense(t *testing.T) {
	names := StrategyNames()
	require.NotEmpty(t, names)
	require.LessOrEqual(t, len(names), MaxStrategies)
	for i, name := range names {
		assert.Equal(t, name, Strategy(i).String(), "strategy %d", i)
		s, ok := ParseStrategy(name)
		assert.True(t, ok, name)
		assert.Equal(t, Strategy(i), s)
	}
	assert.Equal(t, "Strategy("+strconv.Itoa(len(names))+")", Strategy(len(names)).String(), "the first free number")
}

func TestStrategyChoices(t *testing.T) {
	assert.Equal(t, orList(StrategyNames()), StrategyChoices(false))
	for _, name := range StrategyNames() {
		assert.Contains(t, StrategyChoices(true), `"`+name+`"`)
	}
	// The messages of today's strategies, as clients and configs see them.
	three := []string{"perf", "perf-avg", "price"}
	assert.Equal(t, "perf, perf-avg or price", orList(three))
	assert.Equal(t, `"perf", "perf-avg" or "price"`, orList([]string{`"perf"`, `"perf-avg"`, `"price"`}))
	assert.Equal(t, "perf or price", orList([]string{"perf", "price"}))
	assert.Equal(t, "perf", orList([]string{"perf"}))
	assert.Empty(t, orList(nil))
}

func TestStrategyRegisterRefusesConflicts(t *testing.T) {
	order := func(*Request, *score, *score) int { return 0 }
	conflicts := map[string]struct {
		s   Strategy
		def strategyDef
	}{
		"number taken":  {Perf, strategyDef{name: "other", order: order}},
		"name taken":    {MaxStrategies - 1, strategyDef{name: "perf", order: order}},
		"out of range":  {MaxStrategies, strategyDef{name: "other", order: order}},
		"no name":       {MaxStrategies - 1, strategyDef{order: order}},
		"no comparison": {MaxStrategies - 1, strategyDef{name: "other"}},
	}
	before := StrategyNames()
	for name, c := range conflicts {
		assert.Panics(t, func() { register(c.s, c.def) }, name)
	}
	assert.Equal(t, before, StrategyNames(), "nothing was registered")
}
