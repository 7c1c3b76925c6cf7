package sharedstate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClaimOncePerPeriodAcrossInstances(t *testing.T) {
	f := newFleet(t)
	a, b := f.open(), f.open()
	won, err := a.Claim(t.Context(), "probe:openai", 300*time.Millisecond)
	require.NoError(t, err)
	assert.True(t, won)
	won, err = b.Claim(t.Context(), "probe:openai", 300*time.Millisecond)
	require.NoError(t, err)
	assert.False(t, won, "the other instance already has it for this period")
	won, err = b.Claim(t.Context(), "probe:anthropic", 300*time.Millisecond)
	require.NoError(t, err)
	assert.True(t, won, "claims are per name")
	require.Eventually(t, func() bool {
		won, err := b.Claim(t.Context(), "probe:openai", 300*time.Millisecond)
		return err == nil && won
	}, 3*time.Second, 50*time.Millisecond, "the next period is anyone's")
}
