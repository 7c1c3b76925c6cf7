package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPerfStrategy(t *testing.T) {
	st := strategyOf(Perf)
	assert.Equal(t, "perf", st.name)
	assert.Equal(t, BucketTTFT, st.ttft, "this prompt's bucket")
	assert.True(t, st.explores)
	assert.Equal(t, Perf, Strategy(0), "the default is the zero Strategy")
	assert.Same(t, st, strategyOf(Strategy(MaxStrategies-1)), "an unregistered strategy ranks like Perf")

	req := &Request{Strategy: Perf}
	fast := &score{Reading: Reading{Measured: true}, latency: 100, priced: true, cost: 9}
	slow := &score{Reading: Reading{Measured: true}, latency: 200, priced: true, cost: 1}
	unmeasured := &score{priced: true, cost: 5}
	cheapUnmeasured := &score{priced: true, cost: 2}
	assert.Equal(t, -1, st.order(req, fast, slow), "faster first, whatever the price")
	assert.Equal(t, -1, st.order(req, unmeasured, fast), "unmeasured first")
	assert.Equal(t, -1, st.order(req, cheapUnmeasured, unmeasured), "the cheaper unmeasured first")
	assert.Equal(t, 0, st.order(req, fast, fast))
}
