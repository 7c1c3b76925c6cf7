package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// modeLabels names the modes in the report.
var modeLabels = map[string]string{
	"direct":          "(a) vendor direct",
	"rp":              "(b) reverse_proxy",
	"rp32":            "(b32) reverse_proxy, Caddy's default pool (32)",
	"rp-headers":      "(b-headers) reverse_proxy adding the 8 limit headers",
	"rp-wb64":         "(b-wb64) reverse_proxy with a 64 KiB write buffer",
	"router":          "(c) llm_router",
	"router1":         "(c1) llm_router, one vendor",
	"router-openai":   "(c-openai) llm_router, vendors of kind openai",
	"router-wb64":     "(c-wb64) llm_router with a 64 KiB write buffer",
	"router-warn":     "(c-warn) llm_router, log level WARN",
	"router-noledger": "(c-noledger) llm_router, ledger off",
	"router-limits":   "(c-limits) llm_router, limits on (in memory)",
	"router-base":     "(c-base) llm_router, the -base-caddy build",
}

// globalOptions is the global block of every Caddyfile: no admin endpoint
// (other test suites own 2019 and 2999) unless profiling, no automatic HTTPS,
// nothing written to the home directory.
func globalOptions(admin, extra string) string {
	a := "admin off"
	if admin != "" {
		a = "admin " + admin
	}
	return fmt.Sprintf("{\n\t%s\n\tauto_https off\n\tpersist_config off\n\tgrace_period 2s\n%s}\n", a, extra)
}

// caddyfileFor is the Caddy configuration of a mode.
//
// rp mirrors the router's transport (proxy.go, provisionProxy): TLS on
// (tls_except_ports lets it talk plain HTTP to the fake on loopback, as the
// router does by setting the scheme itself), 256 idle connections per host
// (DefaultMaxIdleConnsPerHost), Caddy's default dial timeout (3 s). rp32 is
// the same with Caddy's default pool (32). rp-headers is rp with Caddy's
// header directive adding the eight response headers that router-limits
// adds (values of the same length): what those headers cost Caddy and
// net/http whoever sets them, the floor under router-limits minus router.
// rp-wb64 and router-wb64 are rp and the router with a 64 KiB write buffer
// (write_buffer 64KiB; both default to Go's 4 KiB): what one write for a
// 32 KiB prompt does for each.
// The router has three
// openai_compatible vendors on the same fake (router1 one; router-openai
// three of kind openai, whose translation rewrites long tool call ids and
// so looks for them), serving the same
// model, perf routing, the default exploration share and the default ledger (SQLite
// under the instance's data directory; router-noledger turns it off), and
// Caddy's default logging
// (INFO to stderr, written to a file; the per-request "routed" line is at
// DEBUG, so only failovers would be logged). router-base is the router's
// configuration run by another build (-base-caddy): two builds compared
// within one run.
func caddyfileFor(mode string, port, fakePort, rpIdle int, admin string) string {
	site := func(body string) string {
		return fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n%s}\n", port, body)
	}
	switch mode {
	case "rp", "rp32", "rp-headers", "rp-wb64":
		pool := ""
		if mode != "rp32" && rpIdle > 0 {
			pool = fmt.Sprintf("\t\t\tkeepalive_idle_conns_per_host %d\n", rpIdle)
		}
		if mode == "rp-wb64" {
			pool += "\t\t\twrite_buffer 64KiB\n"
		}
		headers := ""
		if mode == "rp-headers" {
			headers = limitHeaders
		}
		return globalOptions(admin, "") + site(headers+fmt.Sprintf(
			"\treverse_proxy 127.0.0.1:%d {\n\t\ttransport http {\n\t\t\ttls\n\t\t\ttls_except_ports %d\n%s\t\t}\n\t}\n",
			fakePort, fakePort, pool))
	case "router", "router-base", "router1", "router-warn", "router-noledger", "router-limits", "router-openai", "router-wb64":
		extra := ""
		if mode == "router-warn" {
			extra = "\tlog {\n\t\tlevel WARN\n\t}\n"
		}
		var b strings.Builder
		b.WriteString("\tllm_router {\n\t\trouting perf\n")
		if mode == "router-noledger" {
			b.WriteString("\t\tledger off\n")
		}
		if mode == "router-wb64" {
			b.WriteString("\t\twrite_buffer 64KiB\n")
		}
		if mode == "router-limits" {
			// Every kind of limit, none of them reached.
			b.WriteString("\t\tlimits {\n\t\t\ttier default {\n\t\t\t\trequests 100m per 1m\n" +
				"\t\t\t\ttokens 1000m per 1m\n\t\t\t\tconcurrent 100000\n\t\t\t\tusd 1000000 per month\n\t\t\t}\n\t\t}\n")
		}
		vendors := 3
		if mode == "router1" {
			vendors = 1
		}
		kind := "openai_compatible"
		if mode == "router-openai" {
			kind = "openai"
		}
		for i := 1; i <= vendors; i++ {
			fmt.Fprintf(&b, "\t\tvendor v%d %s {\n\t\t\tbase_url http://127.0.0.1:%d/v1\n"+
				"\t\t\tapi_key bench-key-%d\n\t\t\tmodel gpt-4o input 2.5 output 10\n\t\t}\n", i, kind, fakePort, i)
		}
		b.WriteString("\t}\n")
		return globalOptions(admin, extra) + site(b.String())
	}
	panic("no Caddyfile for mode " + mode)
}

// limitHeaders is a header directive that sets what router-limits adds to
// every response, with values as long as its (none of its limits reached).
const limitHeaders = "\theader {\n" +
	"\t\tX-Ratelimit-Limit-Requests 100000000\n" +
	"\t\tX-Ratelimit-Remaining-Requests 99999999\n" +
	"\t\tX-Ratelimit-Reset-Requests 1ms\n" +
	"\t\tX-Ratelimit-Limit-Tokens 1000000000\n" +
	"\t\tX-Ratelimit-Remaining-Tokens 999995903\n" +
	"\t\tX-Ratelimit-Reset-Tokens 1ms\n" +
	"\t\tX-Llm-Budget-Remaining-Usd 999999.982155\n" +
	"\t\tX-Llm-Budget-Reset 2027-01-01T00:00:00Z\n" +
	"\t}\n"

// modeRun is a mode during the run.
type modeRun struct {
	name string
	url  string
	proc *caddyProc // nil for direct
	res  *modeResult
}

// modeResult is everything measured for a mode.
type modeResult struct {
	name, label  string
	serial       summary
	open         []summary      // per rate: the round with the median p99
	openRounds   [][]summary    // per rate, every round
	rssPeakKB    int64          // VmHWM over the last rate's measured window
	rssSampledKB int64          // largest VmRSS sampled every 50 ms in that window
	closed       closedResult   // the rounds merged: medians, and totals of the counts
	closedRounds []closedResult // each closed-loop round, in order
	profileTop   string
	caseProfiles []caseProfile // -profile with the cases phase
	caddyfile    string
	logPath      string
	logBytes     int64      // size of Caddy's log at the end
	warmReqs     int        // requests of the warm-up
	serialSys    [2]float64 // Caddy's read-like and write-like syscalls per request, serial phase
}

// closedResult is the closed-loop phase of a mode.
type closedResult struct {
	gen               string
	requests          int
	wall              time.Duration
	rps               float64
	errors            int
	streams, complete int
	firstErr          string
	cpuPerReqUS       float64       // Caddy's CPU per request, µs
	caddyBusy         float64       // Caddy's CPU time / wall time
	cores             [2]float64    // busy share of cores 0 and 1 (everything on them)
	benchCPUPerReqUS  float64       // this process (fake vendor, Go generator) per request, µs
	upConns, upReqs   int64         // connections and requests the fake vendor accepted
	noise             float64       // other processes' CPU during the phase, in cores
	sys               [2]float64    // Caddy's read-like and write-like syscalls per request
	sysCPUPerReqUS    float64       // the system part of cpuPerReqUS
	switches          float64       // Caddy's context switches per request
	p50               time.Duration // wrk's median latency (the Go generator's is in its summary)
}

// results is a whole run.
type results struct {
	cfg      *config
	modes    []*modeResult
	started  time.Time
	elapsed  time.Duration
	gen      string
	notes    []string
	waited   time.Duration // spent waiting for a quiet machine
	repeated int           // measurements repeated because the machine was busy
	cases    []*caseResult // the cases phase
}

// quietLimit is the CPU, in cores, that other processes may use for the
// machine to count as quiet.
const quietLimit = 0.15

// noiseLimit is the CPU, in cores, that other processes may use during a
// measurement before it is repeated.
const noiseLimit = 0.25

func (r *results) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// run runs the benchmark described by cfg.
func run(ctx context.Context, cfg *config) (*results, error) {
	res := &results{cfg: cfg, started: time.Now()}
	cfg.clkTck = clockTicks()
	m := newMix(cfg.largeKB, cfg.kinds)

	switch cfg.loadgen {
	case "go":
	case "wrk", "auto":
		if _, err := exec.LookPath("wrk"); err == nil {
			cfg.useWrk = true
		} else if cfg.loadgen == "wrk" {
			return nil, errors.New("wrk not found: install it with `apt-get install -y wrk`, or use -loadgen go")
		} else {
			cfg.logf("wrk not found (install it with `apt-get install -y wrk`): the closed loop uses the Go generator, which saturates core 1 before Caddy saturates core 0")
			res.note("wrk was not installed: the closed loop used the Go generator, whose own cost limits the maximum throughput")
		}
	default:
		return nil, fmt.Errorf("-loadgen: want wrk, go or auto, got %q", cfg.loadgen)
	}
	switch cfg.casesGen {
	case "", "go":
		cfg.casesGen = "go"
	case "go-apart", "go-onewrite":
	case "wrk":
		if _, err := exec.LookPath("wrk"); err != nil {
			return nil, errors.New("-cases-loadgen wrk: wrk not found: install it with `apt-get install -y wrk`")
		}
	default:
		return nil, fmt.Errorf("-cases-loadgen: want go, go-apart, go-onewrite or wrk, got %q", cfg.casesGen)
	}
	res.gen = "go"
	if cfg.useWrk {
		res.gen = "wrk"
		script, err := writeWrkScript(cfg.workDir, "mix", m)
		if err != nil {
			return nil, err
		}
		cfg.wrkScript = script
	}

	taken := map[int]bool{}
	var fake *fakeVendor
	for try := 0; fake == nil; try++ {
		port, err := freePort(cfg.portLo, cfg.portHi, taken)
		if err != nil {
			return nil, err
		}
		if fake, err = startFake(fmt.Sprintf("127.0.0.1:%d", port), cfg.bareVendor); err != nil && try >= 5 {
			return nil, fmt.Errorf("starting the fake vendor: %v", err)
		}
	}
	defer fake.Close()
	fakePortN := fake.ln.Addr().(*net.TCPAddr).Port
	cfg.logf("fake vendor on %s", fake.addr())

	var runs []*modeRun
	defer func() {
		for _, mr := range runs {
			if mr.proc != nil {
				mr.proc.stop()
			}
		}
	}()
	for _, name := range cfg.modes {
		mr := &modeRun{name: name, res: &modeResult{name: name, label: modeLabels[name]}}
		runs = append(runs, mr)
		res.modes = append(res.modes, mr.res)
		if name == "direct" {
			mr.url = "http://" + fake.addr() + chatPath
			continue
		}
		var lastErr error
		for try := 0; try < 3 && mr.proc == nil; try++ {
			port, err := freePort(cfg.portLo, cfg.portHi, taken)
			if err != nil {
				return nil, err
			}
			admin := ""
			if cfg.profile {
				ap, err := freePort(cfg.portLo, cfg.portHi, taken)
				if err != nil {
					return nil, err
				}
				admin = fmt.Sprintf("127.0.0.1:%d", ap)
			}
			mr.res.caddyfile = caddyfileFor(name, port, fakePortN, cfg.rpIdle, admin)
			mr.proc, lastErr = startCaddy(cfg, name, name, mr.res.caddyfile, port, admin)
		}
		if mr.proc == nil {
			return nil, lastErr
		}
		mr.url = fmt.Sprintf("http://127.0.0.1:%d%s", mr.proc.port, chatPath)
		mr.res.logPath = mr.proc.logPath
		cfg.logf("%s: caddy pid %d on %s", name, mr.proc.pid(), mr.url)
	}

	// Before each measured window, wait (up to -quiet-wait) until other
	// processes leave the cores alone: other test suites share this machine.
	quiet := func(what string) {
		if cfg.quietWait <= 0 {
			return
		}
		start := time.Now()
		if n := waitQuiet(ctx, quietLimit, cfg.quietWait, cfg.logf); n >= quietLimit {
			res.note("%s started on a busy machine: other processes used %.2f cores", what, n)
		}
		res.waited += time.Since(start)
	}

	// measure runs one measured window (fn returns the other processes' CPU
	// during it), after waiting for a quiet machine, and repeats it, up to
	// cfg.retries times, when other processes used more than noiseLimit
	// cores meanwhile.
	measure := func(what string, fn func() (float64, error)) error {
		for try := 0; ; try++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			quiet(what)
			noise, err := fn()
			if err != nil {
				return err
			}
			if noise <= noiseLimit || try >= cfg.retries {
				if noise > noiseLimit {
					res.note("%s: other processes used %.2f cores during the measurement", what, noise)
				}
				return nil
			}
			cfg.logf("%s: other processes used %.2f cores meanwhile; measuring again", what, noise)
			res.repeated++
		}
	}

	// Warm-up: connections, caches, and the router's first measurements of
	// every vendor (unmeasured vendors are tried first).
	for _, mr := range runs {
		samples, _ := closedLoop(ctx, mr.url, m, 8, cfg.warm)
		s := summarize(samples, 0)
		mr.res.warmReqs = s.n
		if s.errs > 0 || s.n == 0 {
			return nil, fmt.Errorf("%s: warm-up failed: %d of %d requests failed, first: %s%s", mr.name, s.errs, s.n, s.firstErr, mr.logTail())
		}
	}

	// Serial requests: one connection per mode, one request at a time, the
	// modes taking turns in blocks of serialBlock requests.
	if cfg.phases["serial"] {
		err := measure("serial", func() (float64, error) {
			cfg.logf("serial: %d requests per mode, modes taking turns every %d", cfg.serialN, serialBlock)
			urls := make([]string, len(runs))
			io0 := make([]procCounts, len(runs))
			for j, mr := range runs {
				urls[j] = mr.url
				if mr.proc != nil {
					io0[j] = readCounts(mr.proc.pid())
				}
			}
			start, np := time.Now(), startNoise(pids(runs))
			samples := serial(ctx, urls, m, cfg.serialN)
			wall, noise := time.Since(start), np.stop(0)
			for j, mr := range runs {
				mr.res.serial = summarize(samples[j], wall)
				mr.res.serial.noise = noise
				if mr.proc != nil {
					mr.res.serialSys = readCounts(mr.proc.pid()).perRequest(io0[j], mr.res.serial.n)
				}
			}
			return noise, nil
		})
		if err != nil {
			return nil, err
		}
	}

	// Open loop at fixed rates, in rounds like the closed loop: each mode's
	// figures at a rate come from its round with the median p99, since one
	// window's tail can be a fraction of a millisecond off. Peak RSS is
	// taken at the last rate, the highest over the rounds.
	if cfg.phases["open"] {
		for _, mr := range runs {
			mr.res.openRounds = make([][]summary, len(cfg.rates))
		}
		for round := 0; round < cfg.rounds; round++ {
			for ri, rate := range cfg.rates {
				for _, mr := range turns(runs, round) {
					time.Sleep(cfg.pause)
					what := fmt.Sprintf("open loop %s at %d/s, round %d", mr.name, rate, round+1)
					var kept summary // the last try's: measure repeats a noisy one
					err := measure(what, func() (float64, error) {
						cfg.logf("open loop: %s at %d requests/s for %s, round %d of %d", mr.name, rate, cfg.duration, round+1, cfg.rounds)
						c := newClient(0)
						defer c.CloseIdleConnections()
						if cfg.rateWarm > 0 {
							openLoop(ctx, c, mr.url, m, rate, cfg.rateWarm)
						}
						last := ri == len(cfg.rates)-1 && mr.proc != nil
						var stopSampler func() int64
						if last {
							if err := resetPeakRSS(mr.proc.pid()); err != nil {
								res.note("could not reset VmHWM of %s: %v (peak RSS is since start)", mr.name, err)
							}
							stopSampler = sampleRSS(mr.proc.pid())
						}
						start, np := time.Now(), startNoise(pids(runs))
						samples := openLoop(ctx, c, mr.url, m, rate, cfg.duration)
						wall, noise := time.Since(start), np.stop(0)
						if last {
							mr.res.rssSampledKB = max(mr.res.rssSampledKB, stopSampler())
							peak, _ := statusKB(mr.proc.pid(), "VmHWM")
							mr.res.rssPeakKB = max(mr.res.rssPeakKB, peak)
						}
						kept = summarize(samples, wall)
						kept.noise = noise
						return noise, nil
					})
					if err != nil {
						return nil, err
					}
					mr.res.openRounds[ri] = append(mr.res.openRounds[ri], kept)
				}
			}
		}
		for _, mr := range runs {
			mr.res.open = make([]summary, len(cfg.rates))
			for ri, rounds := range mr.res.openRounds {
				mr.res.open[ri] = medianP99Round(rounds)
			}
		}
	}

	// Closed loop: maximum throughput and CPU per request. The modes take
	// turns, round after round, and each figure is a mode's median over the
	// rounds: on a shared machine, one window can be several microseconds
	// per request off, in either direction, which is as much as the margin
	// the targets leave.
	for round := 0; round < cfg.rounds && cfg.phases["closed"]; round++ {
		for _, mr := range turns(runs, round) {
			time.Sleep(cfg.pause)
			var kept closedResult // the last try's: measure repeats a noisy one
			err := measure(fmt.Sprintf("closed loop %s, round %d", mr.name, round+1), func() (float64, error) {
				cfg.logf("closed loop: %s, round %d of %d, %d connections for %s (%s)", mr.name, round+1, cfg.rounds,
					cfg.conns, cfg.duration, res.gen)
				cr, err := closedPhase(ctx, cfg, m, mr, fake, pids(runs))
				kept = cr
				return cr.noise, err
			})
			if err != nil {
				return nil, err
			}
			mr.res.closedRounds = append(mr.res.closedRounds, kept)
		}
	}
	for _, mr := range runs {
		mr.res.closed = mergeRounds(mr.res.closedRounds)
	}
	if cfg.phases["cases"] {
		var err error
		if res.cases, err = runCases(ctx, cfg, runs, fake, measure); err != nil {
			return nil, err
		}
	}
	for _, mr := range runs {
		if mr.proc != nil {
			if fi, err := os.Stat(mr.proc.logPath); err == nil {
				mr.res.logBytes = fi.Size()
			}
		}
	}
	if cfg.profile {
		for _, mr := range runs {
			if mr.proc == nil {
				continue
			}
			mr.res.profileTop = profileTop(cfg, mr)
		}
	}
	res.elapsed = time.Since(res.started)
	return res, nil
}

// turns is the order in which the modes take their turn in a round: as
// given in even rounds, reversed in odd ones. A mode that always ran second
// would always meet the machine a little later than the mode before it, and
// what the machine does in between (another process's burst, the previous
// Caddy's garbage collection and closing connections on the same core) would
// count against it in every round; alternating the order cancels a drift
// that is steady over a pair of rounds.
func turns(runs []*modeRun, round int) []*modeRun {
	if round%2 == 0 {
		return runs
	}
	out := make([]*modeRun, len(runs))
	for i, mr := range runs {
		out[len(runs)-1-i] = mr
	}
	return out
}

// pids are the Caddy processes.
func pids(runs []*modeRun) []int {
	var out []int
	for _, mr := range runs {
		if mr.proc != nil {
			out = append(out, mr.proc.pid())
		}
	}
	return out
}

func (mr *modeRun) logTail() string {
	if mr.proc == nil {
		return ""
	}
	return "\ncaddy log:\n" + tail(mr.proc.logPath, 15)
}

// closedPhase runs the closed loop against one mode and measures Caddy's
// CPU time over it.
func closedPhase(ctx context.Context, cfg *config, m *mix, mr *modeRun, fake *fakeVendor, pids []int) (closedResult, error) {
	cr, _, err := closedPhaseSummary(ctx, cfg, m, mr, fake, pids)
	return cr, err
}

// closedPhaseSummary is closedPhase that also returns the Go generator's
// latency summary (empty with wrk).
func closedPhaseSummary(ctx context.Context, cfg *config, m *mix, mr *modeRun, fake *fakeVendor, pids []int) (closedResult, summary, error) {
	cr := closedResult{gen: "go"}
	var s summary
	self := os.Getpid()
	var c0 int64
	if mr.proc != nil {
		var err error
		if c0, err = cpuTicks(mr.proc.pid()); err != nil {
			return cr, s, err
		}
	}
	b0, _ := cpuTicks(self)
	var io0 procCounts
	if mr.proc != nil {
		io0 = readCounts(mr.proc.pid())
	}
	cores0 := readCores()
	conns0, reqs0 := fake.conns.Load(), fake.reqs.Load()

	var profWG sync.WaitGroup
	if cfg.profile && mr.proc != nil && mr.proc.admin != "" {
		secs := max(int(cfg.duration.Seconds())-3, 1)
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			time.Sleep(time.Second)
			url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", mr.proc.admin, secs)
			if err := fetch(ctx, url, profilePath(cfg, mr.name, "cpu")); err != nil {
				cfg.logf("profile of %s: %v", mr.name, err)
			}
		}()
	}

	start, np := time.Now(), startNoise(pids)
	var wrkTicks int64
	if cfg.useWrk {
		cr.gen = "wrk"
		w, err := runWrk(ctx, cfg.wrkScript, mr.url, cfg.conns, cfg.duration, cfg.pin)
		if err != nil {
			return cr, s, err
		}
		cr.requests, cr.wall, cr.rps, cr.p50 = w.requests, w.wall, w.rps, w.p50
		wrkTicks = int64(w.cpu.Seconds() * float64(cfg.clkTck))
		cr.errors = w.non2xx + w.sockErrs + w.bad
		cr.streams, cr.complete = w.streams, w.complete
		if cr.errors > 0 {
			cr.firstErr = fmt.Sprintf("wrk: %d non-2xx, %d socket errors, %d bad answers", w.non2xx, w.sockErrs, w.bad)
		}
	} else {
		samples, wall := closedLoop(ctx, mr.url, m, cfg.conns, cfg.duration)
		s = summarize(samples, wall)
		cr.requests, cr.wall = s.n, wall
		cr.rps = float64(s.n) / wall.Seconds()
		cr.errors, cr.streams, cr.complete, cr.firstErr = s.errs, s.streams, s.complete, s.firstErr
	}
	elapsed := time.Since(start)
	cr.noise = np.stop(wrkTicks)
	cores := busyShare(cores0, readCores())
	b1, _ := cpuTicks(self)
	cr.cores = cores
	cr.upConns, cr.upReqs = fake.conns.Load()-conns0, fake.reqs.Load()-reqs0
	tick := float64(time.Second) / float64(cfg.clkTck)
	if cr.requests > 0 {
		cr.benchCPUPerReqUS = float64(b1-b0) * tick / float64(cr.requests) / 1e3
	}
	if mr.proc != nil {
		c1, err := cpuTicks(mr.proc.pid())
		if err != nil {
			return cr, s, err
		}
		cpu := time.Duration(float64(c1-c0) * tick)
		if cr.requests > 0 {
			cr.cpuPerReqUS = float64(cpu) / float64(cr.requests) / 1e3
		}
		cr.caddyBusy = cpu.Seconds() / elapsed.Seconds()
		io1 := readCounts(mr.proc.pid())
		cr.sys = io1.perRequest(io0, cr.requests)
		cr.sysCPUPerReqUS, cr.switches = io1.wakeups(io0, cr.requests, time.Duration(tick))
	}
	profWG.Wait()
	if cfg.profile && mr.proc != nil && mr.proc.admin != "" {
		url := fmt.Sprintf("http://%s/debug/pprof/allocs", mr.proc.admin)
		if err := fetch(ctx, url, profilePath(cfg, mr.name, "allocs")); err != nil {
			cfg.logf("allocation profile of %s: %v", mr.name, err)
		}
	}
	return cr, s, nil
}

// sampleRSS samples VmRSS every 50 ms until the returned function is called,
// which returns the largest value seen, in kB.
func sampleRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := statusKB(pid, "VmRSS"); err == nil && kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// profilePath is where a profile of a mode is saved: beside the results
// file, or in the working directory.
func profilePath(cfg *config, mode, kind string) string {
	dir := cfg.workDir
	base := "bench"
	if cfg.out != "-" {
		dir = filepath.Dir(cfg.out)
		base = strings.TrimSuffix(filepath.Base(cfg.out), ".md")
	}
	_ = os.MkdirAll(dir, 0o755)
	return filepath.Join(dir, fmt.Sprintf("%s-%s-%s.pprof", base, kind, mode))
}

// profileTop is `go tool pprof -top` of a mode's CPU profile.
func profileTop(cfg *config, mr *modeRun) string {
	path := profilePath(cfg, mr.name, "cpu")
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=30", cfg.caddyCmd[0], path).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v\n%s", err, out)
	}
	return string(out)
}

// mergeRounds combines closed-loop rounds: each figure is its median over the
// rounds (the upper one of an even number), each count the sum, so that the
// checks on failed requests and complete streams see every round.
func mergeRounds(rounds []closedResult) closedResult {
	if len(rounds) == 0 {
		return closedResult{}
	}
	median := func(f func(closedResult) float64) float64 {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = f(r)
		}
		return upperMedian(v)
	}
	out := rounds[0]
	out.requests, out.errors, out.streams, out.complete = 0, 0, 0, 0
	out.upConns, out.upReqs, out.wall = 0, 0, 0
	for _, r := range rounds {
		out.requests += r.requests
		out.errors += r.errors
		out.streams += r.streams
		out.complete += r.complete
		out.upConns += r.upConns
		out.upReqs += r.upReqs
		out.wall += r.wall
		if out.firstErr == "" {
			out.firstErr = r.firstErr
		}
		out.noise = max(out.noise, r.noise)
	}
	out.rps = median(func(r closedResult) float64 { return r.rps })
	out.cpuPerReqUS = median(func(r closedResult) float64 { return r.cpuPerReqUS })
	out.caddyBusy = median(func(r closedResult) float64 { return r.caddyBusy })
	out.benchCPUPerReqUS = median(func(r closedResult) float64 { return r.benchCPUPerReqUS })
	for i := range out.cores {
		out.cores[i] = median(func(r closedResult) float64 { return r.cores[i] })
	}
	for i := range out.sys {
		out.sys[i] = median(func(r closedResult) float64 { return r.sys[i] })
	}
	return out
}

// upperMedian is the median of xs, the upper one of an even number; xs is
// sorted in place.
func upperMedian(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// medianP99Round is the round with the median p99 latency (the upper one of
// an even number).
func medianP99Round(rounds []summary) summary {
	if len(rounds) == 0 {
		return summary{}
	}
	sorted := append([]summary(nil), rounds...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].lat.pct(0.99) < sorted[j].lat.pct(0.99) })
	return sorted[len(sorted)/2]
}
