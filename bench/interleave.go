package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// The cases phase with -case-block: within each round the modes take turns
// every block (a fraction of a second) rather than once, each for
// cfg.duration in all. The 2-core VMs here change speed by tens of percent
// from one second to the next, and by more between the 8 s halves of a
// round; blocks spread both modes over the same stretch of time, so that
// such drift falls on both alike. CPU is still each Caddy's whole CPU time
// over the round, idle turns and background work (the ledger's batches)
// included, divided by its requests.

// interleavedCase runs case c's rounds with the modes taking turns every
// cfg.caseBlock, after one unmeasured turn each that opens the case's
// connections. Each mode keeps its client, and so its connections, for the
// whole case.
func interleavedCase(ctx context.Context, cfg *config, m *mix, c benchCase, cr *caseResult, runs []*modeRun,
	measure func(string, func() (float64, error)) error) error {
	clients := make(map[string]*http.Client, len(runs))
	for _, mr := range runs {
		clients[mr.name] = clientFor(m, c.conns)
		defer clients[mr.name].CloseIdleConnections()
		blockLoop(ctx, clients[mr.name], mr.url, m, c.conns, cfg.caseBlock)
	}
	for round := 0; round < cfg.rounds; round++ {
		var kept map[string]caseRound
		what := fmt.Sprintf("case %s, round %d", c, round+1)
		err := measure(what, func() (float64, error) {
			cfg.logf("case %s: round %d of %d, %d connections, the modes taking turns every %s for %s each",
				c, round+1, cfg.rounds, c.conns, cfg.caseBlock, cfg.duration)
			var noise float64
			var err error
			kept, noise, err = interleavedRound(ctx, cfg, m, c, runs, clients, cfg.caseBlock)
			return noise, err
		})
		if err != nil {
			return err
		}
		for name, r := range kept {
			cr.rounds[name] = append(cr.rounds[name], r)
		}
	}
	return nil
}

// interleavedRound measures one round of case c: the modes of runs take
// turns every block until each has had cfg.duration. It returns each mode's
// figures and the CPU other processes used meanwhile, in cores.
func interleavedRound(ctx context.Context, cfg *config, m *mix, c benchCase, runs []*modeRun,
	clients map[string]*http.Client, block time.Duration) (map[string]caseRound, float64, error) {
	type tally struct {
		c0      int64
		io0     procCounts
		samples []sample
		busy    time.Duration
	}
	tallies := make(map[string]*tally, len(runs))
	for _, mr := range runs {
		t := &tally{}
		if mr.proc != nil {
			var err error
			if t.c0, err = cpuTicks(mr.proc.pid()); err != nil {
				return nil, 0, err
			}
			t.io0 = readCounts(mr.proc.pid())
		}
		tallies[mr.name] = t
	}
	np := startNoise(pids(runs))
	for turn := 0; ; turn++ {
		done := true
		for _, mr := range turns(runs, turn) {
			t := tallies[mr.name]
			if t.busy >= cfg.duration {
				continue
			}
			done = false
			samples, wall := blockLoop(ctx, clients[mr.name], mr.url, m, c.conns, min(block, cfg.duration-t.busy))
			t.samples = append(t.samples, samples...)
			t.busy += wall
		}
		if done || ctx.Err() != nil {
			break
		}
	}
	noise := np.stop(0)
	if err := ctx.Err(); err != nil {
		return nil, noise, err
	}

	tick := float64(time.Second) / float64(cfg.clkTck)
	out := make(map[string]caseRound, len(runs))
	for _, mr := range runs {
		t := tallies[mr.name]
		s := summarize(t.samples, t.busy)
		r := caseRound{closedResult: closedResult{gen: "go", requests: s.n, wall: t.busy, errors: s.errs,
			streams: s.streams, complete: s.complete, firstErr: s.firstErr, noise: noise},
			p50: s.lat.pct(0.5), ttft50: s.ttft.pct(0.5), done50: s.done.pct(0.5)}
		if t.busy > 0 {
			r.rps = float64(s.n) / t.busy.Seconds()
		}
		if mr.proc != nil && s.n > 0 {
			c1, err := cpuTicks(mr.proc.pid())
			if err != nil {
				return nil, noise, err
			}
			r.cpuPerReqUS = float64(c1-t.c0) * tick / float64(s.n) / 1e3
			io1 := readCounts(mr.proc.pid())
			r.sys = io1.perRequest(t.io0, s.n)
			r.sysCPUPerReqUS, r.switches = io1.wakeups(t.io0, s.n, time.Duration(tick))
		}
		out[mr.name] = r
	}
	return out, noise, nil
}

// blockLoop is one turn of a mode: conns workers send requests one after
// another on c's connections for d. Unlike closedLoop it lets the requests
// in flight at the end finish rather than cancel them, so that the
// connections stay open for the mode's next turn. It returns the samples
// and the time from the first request to the last answer.
func blockLoop(ctx context.Context, c *http.Client, url string, m *mix, conns int, d time.Duration) ([]sample, time.Duration) {
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for i := w; time.Now().Before(stop) && ctx.Err() == nil; i += conns {
				mine = append(mine, do(ctx, c, url, m, m.kindOf(i), time.Now()))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start)
}

// casesBlockNote says, under the cases' table, how the modes took turns.
func casesBlockNote(cfg *config) string {
	if cfg.caseBlock <= 0 || cfg.casesGen == "wrk" {
		return "the modes taking turns in alternating order"
	}
	return fmt.Sprintf("the modes taking turns every %s within each round (-case-block), each for that long in all", cfg.caseBlock)
}
