package selector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestThroughputStrategy(t *testing.T) {
	st := strategyOf(Throughput)
	assert.Equal(t, "throughput", st.name)
	assert.True(t, st.explores)

	req := &Request{Strategy: Throughput}
	fastDecoder := &score{Reading: Reading{Measured: true, Decodes: true, PerToken: 5}, latency: 800}
	slowDecoder := &score{Reading: Reading{Measured: true, Decodes: true, PerToken: 20}, latency: 100}
	sameSpeedQuicker := &score{Reading: Reading{Measured: true, Decodes: true, PerToken: 5}, latency: 400}
	unknown := &score{Reading: Reading{Measured: true}, latency: 50}
	assert.Equal(t, -1, st.order(req, fastDecoder, slowDecoder), "the decode speed decides, not the first token")
	assert.Equal(t, -1, st.order(req, unknown, fastDecoder), "an unknown speed first, to measure it")
	assert.Equal(t, -1, st.order(req, sameSpeedQuicker, fastDecoder), "equal speeds go to the Perf order")
}
