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
