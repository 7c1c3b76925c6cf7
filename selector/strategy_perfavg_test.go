package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPerfAvgStrategy(t *testing.T) {
	st := strategyOf(PerfAvg)
	assert.Equal(t, "perf-avg", st.name)
	assert.Equal(t, AverageTTFT, st.ttft, "the average over buckets")
	assert.True(t, st.explores)

	// It orders like Perf; only the reading differs.
	req := &Request{Strategy: PerfAvg}
	fast := &score{Reading: Reading{Measured: true}, latency: 100}
	slow := &score{Reading: Reading{Measured: true}, latency: 200}
	assert.Equal(t, -1, st.order(req, fast, slow))
	assert.Equal(t, 1, st.order(req, slow, fast))
}
