package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkInProcessPaired measures the difference in CPU per request
// between two modes to within a microsecond on a machine whose speed drifts
// by more than that within seconds (a shared VM: the load benchmark's
// 8-second rounds then differ by tens of µs). The two modes take turns in
// blocks of 1000 requests, a fraction of a second each, in this process on
// one core: a block's cost is the process's CPU (getrusage: the client, the
// fake vendor and the router's goroutines, the ledger's writer included)
// over its requests, and the result is the mean of the per-pair
// differences, with its 95 % confidence interval (normal approximation:
// pairs are many). The order in a pair alternates, so that a steady drift
// cancels.
//
// Every llm_router block gets `ledger_flush_interval 1h`, so that the
// ledger writes one batch of 1000 rows, its default batch size, at each
// router block's last request (as under load, where batches fill before the
// interval): a block is followed by 20 ms of idle time in which the writer
// commits it, counted in that block. Run it alone, once:
//
//	go test -c -o /tmp/bench.test ./bench/ && cd bench
//	/tmp/bench.test -test.run '^$' -test.bench InProcessPaired -test.cpu 1 -test.benchtime 1x
//
// LLM_ROUTER_BENCH_PAIR names the two modes (default
// "router,router-noledger": what the SQLite ledger costs),
// LLM_ROUTER_BENCH_KIND the request kind (default small),
// LLM_ROUTER_BENCH_PAIRS how many pairs (default 100).
func BenchmarkInProcessPaired(b *testing.B) {
	modes := strings.Split(envOr("LLM_ROUTER_BENCH_PAIR", "router,router-noledger"), ",")
	if len(modes) != 2 {
		b.Fatalf("LLM_ROUTER_BENCH_PAIR: want two modes, got %q", modes)
	}
	pairs, err := strconv.Atoi(envOr("LLM_ROUTER_BENCH_PAIRS", "100"))
	if err != nil || pairs < 2 {
		b.Fatalf("LLM_ROUTER_BENCH_PAIRS: want a number above 1, got %q", os.Getenv("LLM_ROUTER_BENCH_PAIRS"))
	}
	k, ok := kindNamed(envOr("LLM_ROUTER_BENCH_KIND", "small"))
	if !ok {
		b.Fatalf("LLM_ROUTER_BENCH_KIND: unknown kind %q", os.Getenv("LLM_ROUTER_BENCH_KIND"))
	}
	const block = 1000
	urls := inProcessSites(b, modes, "\t\tledger_flush_interval 1h\n")
	m := newMix(32, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	// runBlock sends a block to mode and returns its CPU per request, in ns.
	runBlock := func(mode string) float64 {
		start := cpuNow(b)
		for range block {
			send1(b, client, urls[mode], m, k)
		}
		time.Sleep(20 * time.Millisecond) // the ledger's commit of the block
		return float64(cpuNow(b)-start) / block
	}
	for _, mode := range modes { // warm up: connections, routes, the ledger's file
		runBlock(mode)
	}
	b.ResetTimer()
	var as, cs []float64
	for range b.N {
		for i := range pairs {
			var a, c float64
			if i%2 == 0 {
				a = runBlock(modes[0])
				c = runBlock(modes[1])
			} else {
				c = runBlock(modes[1])
				a = runBlock(modes[0])
			}
			as, cs = append(as, a), append(cs, c)
		}
	}
	var sumD, sumD2 float64
	for i := range as {
		d := as[i] - cs[i]
		sumD, sumD2 = sumD+d, sumD2+d*d
	}
	n := float64(len(as))
	mean := sumD / n
	sd := math.Sqrt((sumD2 - n*mean*mean) / (n - 1))
	b.ReportMetric(mean, "diff-cpu-ns/req")
	b.ReportMetric(1.96*sd/math.Sqrt(n), "ci95-ns/req")
	// A slower host only adds CPU time, never takes it away: the fastest
	// blocks of each mode are its cost with the least interference.
	slices.Sort(as)
	slices.Sort(cs)
	p10 := len(as) / 10
	b.ReportMetric(as[p10], modes[0]+"-p10-ns/req")
	b.ReportMetric(cs[p10], modes[1]+"-p10-ns/req")
	b.ReportMetric(as[p10]-cs[p10], "diff-p10-ns/req")
	if out := os.Getenv("LLM_ROUTER_BENCH_BLOCKS"); out != "" { // every block, sorted, for a closer look
		var w strings.Builder
		for i := range as {
			fmt.Fprintf(&w, "%.0f %.0f\n", as[i], cs[i])
		}
		if err := os.WriteFile(out, []byte(w.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuNow is the process's CPU time so far, user and system, every thread.
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// kindNamed is the request kind called name (kind.String).
func kindNamed(name string) (kind, bool) {
	for k := range numKinds {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}

// envOr is the environment variable key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
