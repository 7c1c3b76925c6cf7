package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTTFTStrategy(t *testing.T) {
	st := strategyOf(TTFT)
	assert.Equal(t, "ttft", st.name)
	assert.Equal(t, BucketTTFT, st.ttft, "this prompt's bucket")
	assert.True(t, st.explores)

	req := &Request{Strategy: TTFT}
	// quickStart starts sooner but decodes slowly: its predicted total
	// latency is the higher one, which TTFT does not look at.
	quickStart := &score{Reading: Reading{Measured: true, TTFT: 100}, latency: 900}
	slowStart := &score{Reading: Reading{Measured: true, TTFT: 200}, latency: 300}
	unmeasured := &score{priced: true, cost: 5}
	cheapUnmeasured := &score{priced: true, cost: 2}
	assert.Equal(t, -1, st.order(req, quickStart, slowStart), "the first token decides, not the total")
	assert.Equal(t, -1, st.order(req, unmeasured, quickStart), "unmeasured first")
	assert.Equal(t, -1, st.order(req, cheapUnmeasured, unmeasured), "the cheaper unmeasured first")
	assert.Equal(t, 0, st.order(req, quickStart, quickStart))
}
