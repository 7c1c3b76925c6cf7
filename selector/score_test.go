package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestScoreSetNilStats(t *testing.T) {
	var sc score
	sc.set(Request{PromptTokens: 1000}, 1, &Candidate{Price: priced(1, 2)}, t0)
	assert.True(t, sc.healthy)
	assert.False(t, sc.measured)
	assert.True(t, sc.priced)
	assert.InDelta(t, (1000*1+DefaultExpectedCompletionTokens*2)/1e6, sc.cost, 1e-15)
}

func TestScoreSetStats(t *testing.T) {
	s := route(map[int]float64{0: 100, 2: 300})
	s.ObserveFailure(t0)
	c := &Candidate{Stats: s}

	sc := score{healthy: true, measured: false, priced: true, cost: 1} // overwritten
	sc.set(Request{Strategy: Perf}, 1, c, t0)
	assert.False(t, sc.healthy)
	assert.Equal(t, t0.Add(CooldownBase), sc.cooldownUntil)
	assert.True(t, sc.measured)
	assert.InDelta(t, 200, sc.latency, 1e-9, "bucket 1 borrows from 0 and 2")
	assert.False(t, sc.priced)

	sc.set(Request{Strategy: PerfAvg}, 0, c, t0.Add(time.Hour))
	assert.True(t, sc.healthy)
	assert.InDelta(t, 200, sc.latency, 1e-9)
}

func TestCompareScores(t *testing.T) {
	healthySlow := score{healthy: true, measured: true, latency: 900}
	sick := score{measured: true, latency: 1, cooldownUntil: t0.Add(time.Minute)}
	sicker := score{measured: true, latency: 1, cooldownUntil: t0.Add(time.Hour)}
	assert.Equal(t, -1, compareScores(Perf, &healthySlow, &sick))
	assert.Equal(t, 1, compareScores(Price, &sick, &healthySlow))
	assert.Equal(t, -1, compareScores(Perf, &sick, &sicker))
	assert.Equal(t, 0, compareScores(Perf, &sick, &sick))
}
