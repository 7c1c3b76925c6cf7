package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClaimStaleExploration(t *testing.T) {
	var r RouteStats
	every := time.Minute
	assert.True(t, r.claimStaleExploration(t0, every))
	assert.False(t, r.claimStaleExploration(t0, every))
	assert.False(t, r.claimStaleExploration(t0.Add(every-time.Nanosecond), every))
	assert.True(t, r.claimStaleExploration(t0.Add(every), every))
	assert.False(t, r.claimStaleExploration(t0.Add(every), every))
}
