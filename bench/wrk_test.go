package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wrkReport is wrk 4.1's report of a run with --latency and the bench's
// script, as it prints it.
const wrkReport = `Running 8s test @ http://127.0.0.1:18516/v1/chat/completions
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   152.31us   41.07us   2.10ms   96.12%
    Req/Sec     6.47k   312.50     7.01k    81.25%
  Latency Distribution
     50%  143.00us
     75%  155.00us
     90%  170.00us
     99%  301.00us
  51764 requests in 8.00s, 31.17MB read
  Non-2xx or 3xx responses: 2
Requests/sec:   6470.12
Transfer/sec:      3.90MB
BENCH streams=0 complete=0 json=51762 bad=2
`

func TestParseWrk(t *testing.T) {
	r := wrkResult{output: wrkReport}
	require.NoError(t, parseWrk(&r))
	assert.Equal(t, 51764, r.requests)
	assert.Equal(t, 8*time.Second, r.wall)
	assert.InDelta(t, 6470.12, r.rps, 1e-9)
	assert.Equal(t, 143*time.Microsecond, r.p50, "the median of the latency distribution, not the average")
	assert.Equal(t, 2, r.non2xx)
	assert.Equal(t, 2, r.bad)

	r = wrkResult{output: "     50%    1.25ms\n  10 requests in 1.00s, 1.00KB read\n"}
	require.NoError(t, parseWrk(&r))
	assert.Equal(t, 1250*time.Microsecond, r.p50)

	r = wrkResult{output: "unable to connect to 127.0.0.1:1 Connection refused\n"}
	assert.Error(t, parseWrk(&r))
}
