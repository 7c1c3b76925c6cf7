package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPriceStrategy(t *testing.T) {
	st := strategyOf(Price)
	assert.Equal(t, "price", st.name)
	assert.Equal(t, BucketTTFT, st.ttft, "ties go to Perf, which reads this bucket")
	assert.False(t, st.explores, "its clients chose cost over speed")

	req := &Request{Strategy: Price}
	cheapSlow := &score{Reading: Reading{Measured: true}, latency: 900, priced: true, cost: 0.3}
	tieFast := &score{Reading: Reading{Measured: true}, latency: 100, priced: true, cost: 0.1 + 0.2}
	dearFast := &score{Reading: Reading{Measured: true}, latency: 10, priced: true, cost: 0.31}
	unpriced := &score{Reading: Reading{Measured: true}, latency: 1}
	assert.Equal(t, -1, st.order(req, cheapSlow, dearFast), "cheaper first, whatever the latency")
	assert.Equal(t, -1, st.order(req, tieFast, cheapSlow), "a tie within float noise goes to the faster")
	assert.Equal(t, -1, st.order(req, dearFast, unpriced), "unpriced last")
}
