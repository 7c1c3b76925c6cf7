package selector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClaimStaleExploration(t *testing.T) {
	r := NewRoute()
	every := time.Minute
	assert.True(t, r.ClaimStaleExploration(t0, every))
	assert.False(t, r.ClaimStaleExploration(t0, every))
	assert.False(t, r.ClaimStaleExploration(t0.Add(every-time.Nanosecond), every))
	assert.True(t, r.ClaimStaleExploration(t0.Add(every), every))
	assert.False(t, r.ClaimStaleExploration(t0.Add(every), every))
}
