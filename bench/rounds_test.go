package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTurnsAlternateTheOrder(t *testing.T) {
	a, b, c := &modeRun{name: "direct"}, &modeRun{name: "rp"}, &modeRun{name: "router"}
	runs := []*modeRun{a, b, c}
	assert.Equal(t, []*modeRun{a, b, c}, turns(runs, 0))
	assert.Equal(t, []*modeRun{c, b, a}, turns(runs, 1))
	assert.Equal(t, []*modeRun{a, b, c}, turns(runs, 2))
	assert.Equal(t, []*modeRun{a, b, c}, runs, "the modes' own order is left alone")
}

func TestPairedCPU(t *testing.T) {
	rounds := func(cpu ...float64) []closedResult {
		out := make([]closedResult, len(cpu))
		for i, v := range cpu {
			out[i].cpuPerReqUS = v
		}
		return out
	}
	rp := &modeResult{name: "rp", closedRounds: rounds(130, 120, 140)}
	router := &modeResult{name: "router", closedRounds: rounds(145, 131, 150)}
	assert.InDeltaSlice(t, []float64{15, 11, 10}, pairedCPU(rp, router), 1e-9)
	assert.Nil(t, pairedCPU(rp, rp), "(b) is not paired with itself")
	assert.Nil(t, pairedCPU(rp, &modeResult{name: "direct", closedRounds: rounds(1, 2, 3)}))
	assert.Nil(t, pairedCPU(rp, &modeResult{name: "router", closedRounds: rounds(1)}), "rounds must match")
	assert.Nil(t, pairedCPU(nil, router))
}

func TestMeanCI95(t *testing.T) {
	_, _, ok := meanCI95([]float64{3})
	assert.False(t, ok, "one value has no spread")

	// Mean 2, sample sd 1, n 3: half-width t(2) × 1/√3.
	mean, half, ok := meanCI95([]float64{1, 2, 3})
	assert.True(t, ok)
	assert.InDelta(t, 2, mean, 1e-12)
	assert.InDelta(t, 4.303/1.7320508, half, 1e-6)

	assert.InDelta(t, 2.042, tCritical95(100), 1e-12, "past the table, df 30's value")
	assert.InDelta(t, 12.706, tCritical95(1), 1e-12)
}

func TestUpperMedian(t *testing.T) {
	assert.Equal(t, 3.0, upperMedian([]float64{5, 1, 3}))
	assert.Equal(t, 4.0, upperMedian([]float64{4, 1, 9, 2}), "the upper one of an even number")
}
