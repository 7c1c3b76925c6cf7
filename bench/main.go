// Command bench is the loopback load benchmark of llm_router against plain
// reverse_proxy (issue 6). One command runs it from the repository root:
//
//	go run ./bench                  # full run: 20 s per load phase, about 6 minutes on a quiet machine
//	go run ./bench -duration 10s    # shorter phases
//	go run ./bench -smoke           # about 12 s: every mode works, streams complete; no verdicts
//	go run ./bench -phases cases -modes rp,router -duration 8s -rounds 4
//	                                # issue 17's table: small, streaming and 32 KB requests at
//	                                # concurrency 1 and 32, router minus rp paired by round
//
// It builds caddy from ./cmd/caddy, starts a fast fake OpenAI-compatible
// vendor on loopback, and sends the same request mix (non-streaming and
// streaming chat completions, small and large prompts, in equal shares;
// -kinds narrows it) to
//
//	(a) direct   the fake vendor itself,
//	(b) rp       Caddy with plain reverse_proxy to the fake, with the router's
//	             transport settings (TLS on, 256 idle connections per host),
//	(c) router   Caddy with llm_router: three openai_compatible vendors on the
//	             fake, perf routing, default exploration,
//
// and optionally rp32 (reverse_proxy with Caddy's default pool of 32 idle
// connections per host), router1 (llm_router with one vendor: issue 17's
// measurements had both), router-warn (llm_router with Caddy's log level at
// WARN, which turned off the per-request "routed" line when it was at INFO)
// router-noledger (llm_router with `ledger off`: what the default SQLite
// ledger costs is router minus router-noledger), router-limits (every
// kind of client limit on, in memory, none reached) and rp-headers (rp adding
// the eight headers router-limits adds, with Caddy's header directive: what
// the headers alone cost, whoever sets them, is rp-headers minus rp),
// rp-wb64 and router-wb64 (rp and the router with a 64 KiB write buffer
// instead of Go's 4 KiB), and router-base (the router's configuration run by
// the -base-caddy binary: a previous build, say, against this one in the
// same run, where the machine's drift falls on both).
//
// Caddy runs pinned to core 0 and the benchmark (fake vendor and load
// generators, wrk included) to core 1. The phases are a warm-up, serial
// requests (the modes taking turns in blocks of 100 requests), open-loop
// fixed rates (500 and 2000 requests/s) and a closed loop for maximum
// throughput and CPU per request (wrk with a Lua script, or a Go fallback);
// each phase runs for every mode before the next phase starts. Other work on
// the machine is watched: before each measured window the benchmark waits
// for other processes to leave the cores alone, repeats a window they
// disturbed, and reports their CPU per phase. It prints a table with the
// figures of every mode, the ratios of (c) to (b) and the targets,
// and writes it as markdown (-out). See BENCHMARKS.md for a recorded run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// chatPath is where every mode serves chat completions.
const chatPath = "/v1/chat/completions"

// config is one benchmark run.
type config struct {
	duration  time.Duration // each measured load phase (open loop per rate, closed loop)
	serialN   int           // requests in the serial phase
	rates     []int         // open-loop rates, requests/s
	conns     int           // closed-loop connections
	rounds    int           // open- and closed-loop rounds per mode, interleaved
	modes     []string
	rpIdle    int // keepalive_idle_conns_per_host of mode rp (0: Caddy's default)
	largeKB   int
	loadgen   string        // auto, wrk, go
	casesGen  string        // the cases phase's generator: go, wrk
	caseBlock time.Duration // the cases phase's turns within a round (0: one turn each)
	caddyCmd  []string
	baseCaddy string // the binary of mode router-base
	caddyEnv  []string
	pin       bool
	out       string
	profile   bool
	warm      time.Duration // closed-loop warm-up before the serial phase
	rateWarm  time.Duration // unmeasured lead-in at each open-loop rate
	pause     time.Duration // between modes
	portLo    int
	portHi    int
	workDir   string
	keep      bool
	smoke     bool
	quietWait time.Duration // wait at most this long for other processes to go quiet
	phases    map[string]bool
	kinds     []kind // the request kinds of the mix (nil: all four)
	cases     []benchCase
	retries   int // times a measurement is repeated when the machine was busy during it
	logf      func(format string, args ...any)
	clkTck    int64
	useWrk    bool
	// bareVendor: the fake answers without OpenAI's own headers (as before
	// 2026-12-05), so that figures recorded then can be compared.
	bareVendor bool
	wrkScript  string
}

func main() {
	var (
		cfg      config
		rates    string
		modes    string
		phases   string
		kinds    string
		cases    string
		caddyBin string
		workDir  string
	)
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "length of each measured load phase (each open-loop rate, the closed loop)")
	flag.IntVar(&cfg.serialN, "serial", 4000, "requests in the serial phase (one connection, one request at a time)")
	flag.StringVar(&rates, "rates", "500,2000", "open-loop rates in requests/s; the last one is where peak RSS is taken")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of the open and closed loops: the modes take turns this many times; closed-loop figures are each mode's medians, open-loop ones come from its round with the median p99")
	flag.IntVar(&cfg.conns, "conns", 64, "connections of the closed-loop (max throughput) phase")
	flag.StringVar(&phases, "phases", "serial,open,closed", "phases to run: serial, open (the fixed rates), closed (max throughput, CPU per request), cases (issue 17's table: -cases, router minus rp paired by round), instructions (valgrind's count of Caddy's instructions per request for each kind of -cases: repeatable on a noisy machine)")
	flag.StringVar(&cases, "cases", defaultCases, "cases of the cases phase: kind@connections, kind one of small, stream (the fake's stream: one chunk per word of its answer), large (-large-kb prompt); each a closed loop of that kind alone")
	flag.StringVar(&kinds, "kinds", "small,small+stream,large,large+stream", "request kinds of the mix, sent in turn")
	flag.StringVar(&modes, "modes", "direct,rp,router", "modes to run, in order: direct, rp, rp32, rp-headers, rp-wb64, router, router1, router-openai, router-wb64, router-warn, router-noledger, router-limits, router-base")
	flag.IntVar(&cfg.rpIdle, "rp-idle-conns", 256, "keepalive_idle_conns_per_host of mode rp (the router's DefaultMaxIdleConnsPerHost is 256; 0 = Caddy's default, 32)")
	flag.IntVar(&cfg.largeKB, "large-kb", 32, "size of the large prompts in KiB")
	flag.BoolVar(&cfg.bareVendor, "bare-vendor", false, "the fake vendor answers without the headers OpenAI adds (x-request-id, openai-*, the account's x-ratelimit-*), as it did before 2026-12-05")
	flag.StringVar(&cfg.loadgen, "loadgen", "auto", "closed-loop generator: wrk, go, or auto (wrk when installed)")
	flag.DurationVar(&cfg.caseBlock, "case-block", 0, "cases phase: within each round, the modes take turns every this long (e.g. 250ms) until each has had -duration, which spreads them over the same stretch of a machine's drift; 0: one turn each (Go generators only; no -profile then)")
	flag.StringVar(&cfg.casesGen, "cases-loadgen", "go", "generator of the cases phase: go (Go's client, which measures streams' first event; it writes a large body in pieces, the first 4 KiB of the request with the headers), go-apart (Go's client sending the headers in a write of their own, then the body, as a client with a streamed body does), go-onewrite (Go's client sending each request in one write, as wrk does, and with -case-block) or wrk (each request in one write, as the issue's own measurement; no first event)")
	flag.StringVar(&caddyBin, "caddy", "", "caddy binary to test (default: build ./cmd/caddy into a temporary directory)")
	flag.StringVar(&cfg.baseCaddy, "base-caddy", "", "the caddy binary of mode router-base, the router's configuration on another build: two builds compared within one run")
	flag.BoolVar(&cfg.pin, "pin", true, "pin Caddy to core 0 and the benchmark and wrk to core 1 with taskset")
	flag.StringVar(&cfg.out, "out", "", "markdown results file (default bench/results/results-<time>.md; - for none)")
	flag.BoolVar(&cfg.profile, "profile", false, "enable Caddy's admin endpoint on loopback and take CPU and allocation profiles during the closed loop (adds overhead: not for the recorded figures)")
	flag.BoolVar(&cfg.smoke, "smoke", false, "a ~12 s run with short phases and low rates: checks that every mode works, gives no verdicts")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the working directory (configs, Caddy logs, caddy binary)")
	flag.StringVar(&workDir, "workdir", "", "working directory (default: a new temporary one)")
	flag.DurationVar(&cfg.quietWait, "quiet-wait", 3*time.Minute, "before starting, wait at most this long until other processes use under 0.15 cores (0: do not wait)")
	flag.IntVar(&cfg.retries, "retries", 3, "repeat a measurement up to this many times when other processes used more than 0.25 cores during it")
	flag.IntVar(&cfg.portLo, "port-lo", 18000, "lowest port to use")
	flag.IntVar(&cfg.portHi, "port-hi", 18999, "highest port to use")
	flag.Parse()

	cfg.logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	for _, r := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			fatalf("-rates: bad rate %q", r)
		}
		cfg.rates = append(cfg.rates, n)
	}
	for _, m := range strings.Split(modes, ",") {
		m = strings.TrimSpace(m)
		if _, ok := modeLabels[m]; !ok {
			fatalf("-modes: unknown mode %q (want direct, rp, rp32, rp-headers, rp-wb64, router, router1, router-openai, router-wb64, router-warn, router-noledger, router-limits, router-base)", m)
		}
		if m == "router-base" && cfg.baseCaddy == "" {
			fatalf("-modes: router-base needs -base-caddy, the build to compare with")
		}
		cfg.modes = append(cfg.modes, m)
	}
	var err error
	if cfg.kinds, err = parseKinds(kinds); err != nil {
		fatalf("-kinds: %v", err)
	}
	if cfg.cases, err = parseCases(cases); err != nil {
		fatalf("-cases: %v", err)
	}
	cfg.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if p != "serial" && p != "open" && p != "closed" && p != "cases" && p != "instructions" {
			fatalf("-phases: unknown phase %q (want serial, open, closed, cases, instructions)", p)
		}
		cfg.phases[p] = true
	}
	cfg.warm, cfg.rateWarm, cfg.pause = 3*time.Second, 2*time.Second, time.Second
	if cfg.smoke {
		applySmoke(&cfg)
	}

	var root string
	if caddyBin == "" || cfg.out == "" {
		var err error
		if root, err = moduleRoot(); err != nil {
			fatalf("%v (run it from the repository: go run ./bench)", err)
		}
	}
	if cfg.out == "" {
		cfg.out = filepath.Join(root, "bench", "results", "results-"+time.Now().Format("20060102-150405")+".md")
	}

	// The parent builds caddy (on both cores), then re-executes itself on
	// core 1; the pinned child does the rest.
	if cfg.pin && os.Getenv("BENCH_PINNED") == "" {
		if runtime.NumCPU() < 2 {
			fatalf("pinning needs 2 cores (this process may use %d); run with -pin=false", runtime.NumCPU())
		}
		taskset, err := exec.LookPath("taskset")
		if err != nil {
			fatalf("taskset not found: install util-linux (apt-get install -y util-linux) or run with -pin=false")
		}
		if workDir == "" {
			if workDir, err = os.MkdirTemp("", "llm-router-bench-"); err != nil {
				fatalf("%v", err)
			}
		}
		if caddyBin == "" {
			if caddyBin, err = buildCaddy(root, workDir, cfg.logf); err != nil {
				fatalf("%v", err)
			}
		}
		exe, err := os.Executable()
		if err != nil {
			fatalf("%v", err)
		}
		args := []string{"taskset", "-c", "1", exe}
		args = append(args, os.Args[1:]...)
		args = append(args, "-workdir", workDir, "-caddy", caddyBin, "-out", cfg.out)
		err = syscall.Exec(taskset, args, append(os.Environ(), "BENCH_PINNED=1"))
		fatalf("re-executing under taskset: %v", err)
	}

	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "llm-router-bench-"); err != nil {
			fatalf("%v", err)
		}
	}
	cfg.workDir = workDir
	if !cfg.keep {
		defer os.RemoveAll(workDir)
	}
	if caddyBin == "" {
		if caddyBin, err = buildCaddy(root, workDir, cfg.logf); err != nil {
			fatalf("%v", err)
		}
	}
	cfg.caddyCmd = []string{caddyBin}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fail := func(err error) {
		if !cfg.keep {
			os.RemoveAll(workDir)
		}
		fatalf("%v", err)
	}
	var md string
	if cfg.phases["instructions"] {
		// Apart from the others: Caddy runs under valgrind, a Caddy per
		// mode and kind.
		rs, err := runInstructions(ctx, &cfg)
		if err != nil {
			fail(err)
		}
		md = instructionsMarkdown(&cfg, rs)
		delete(cfg.phases, "instructions")
	}
	if len(cfg.phases) > 0 {
		res, err := run(ctx, &cfg)
		if err != nil {
			fail(err)
		}
		md = res.markdown() + md
	}
	fmt.Print(md)
	if cfg.out != "-" {
		err := os.MkdirAll(filepath.Dir(cfg.out), 0o755)
		if err == nil {
			err = os.WriteFile(cfg.out, []byte(md), 0o644)
		}
		if err != nil {
			cfg.logf("writing %s: %v", cfg.out, err)
		} else {
			cfg.logf("results written to %s", cfg.out)
		}
	}
	if cfg.keep {
		cfg.logf("working directory kept: %s", workDir)
	}
}

// applySmoke shortens everything: the smoke run proves that every mode
// answers the whole mix and that streams complete, not how fast.
func applySmoke(cfg *config) {
	cfg.duration = time.Second
	cfg.serialN = 40
	cfg.rates = []int{50, 200}
	cfg.conns = 8
	cfg.rounds = 1
	cfg.warm = 300 * time.Millisecond
	cfg.rateWarm = 0
	cfg.pause = 0
	cfg.quietWait = 0
	cfg.retries = 0
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// buildCaddy builds ./cmd/caddy into dir.
func buildCaddy(root, dir string, logf func(string, ...any)) (string, error) {
	bin := filepath.Join(dir, "caddy")
	start := time.Now()
	logf("building caddy: go build -o %s ./cmd/caddy", bin)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/caddy: %v\n%s", err, out)
	}
	logf("built in %s", time.Since(start).Round(100*time.Millisecond))
	return bin, nil
}
