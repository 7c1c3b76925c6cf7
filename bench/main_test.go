package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-llm/llmrouter"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// childEnv makes the test binary run as caddy: the smoke test needs a Caddy
// with llm_router in a process of its own, and this binary already has every
// module of ./cmd/caddy linked in, so it need not build one.
const childEnv = "LLM_ROUTER_BENCH_CADDY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		caddycmd.Main() // os.Args: <test binary> run --config ... --adapter caddyfile
		return
	}
	// The in-process Caddy's default ledger goes to a data directory of the
	// run's own.
	os.Exit(testservices.RunWithDataDir(m, "llm-router-bench-data-*"))
}

// TestSmoke is the benchmark's smoke run (-smoke): every mode (the vendor
// directly, plain reverse_proxy, llm_router) answers the whole mix in every
// phase, without a failure, and every stream completes. It asserts nothing
// about timing. It takes about 12 s; Caddy is this test binary (so under
// -race, a race-instrumented Caddy, whose logs are checked for data races),
// not pinned.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("smoke run of the load benchmark: skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	cfg := &config{
		modes:    []string{"direct", "rp", "router"},
		rpIdle:   256,
		largeKB:  32,
		loadgen:  "auto",
		caddyCmd: []string{os.Args[0]},
		caddyEnv: []string{childEnv + "=1"},
		pin:      false,
		out:      "-",
		portLo:   18000,
		portHi:   18999,
		workDir:  t.TempDir(),
		logf:     t.Logf,
		smoke:    true,
		phases:   map[string]bool{"serial": true, "open": true, "closed": true},
	}
	applySmoke(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	md := res.markdown()
	t.Log("\n" + md)
	for _, m := range res.modes {
		if n, first := m.errors(); n > 0 {
			t.Errorf("%s: %d failed requests; first: %s", m.label, n, first)
		}
		started, complete := m.streams()
		if started == 0 || complete != started {
			t.Errorf("%s: %d of %d streams complete", m.label, complete, started)
		}
		if m.serial.n != cfg.serialN {
			t.Errorf("%s: serial phase sent %d requests, want %d", m.label, m.serial.n, cfg.serialN)
		}
		for i, o := range m.open {
			if want := int(float64(cfg.rates[i]) * cfg.duration.Seconds()); o.n != want {
				t.Errorf("%s: open loop at %d/s sent %d requests, want %d", m.label, cfg.rates[i], o.n, want)
			}
		}
		if m.closed.requests == 0 {
			t.Errorf("%s: the closed loop completed no request", m.label)
		}
		if m.name != "direct" {
			if m.closed.cpuPerReqUS <= 0 || m.rssPeakKB <= 0 {
				t.Errorf("%s: no CPU or RSS reading (CPU %.1f µs/request, VmHWM %d kB)", m.label, m.closed.cpuPerReqUS, m.rssPeakKB)
			}
			if b, err := os.ReadFile(m.logPath); err == nil && strings.Contains(string(b), "DATA RACE") {
				t.Errorf("%s: the race detector fired in Caddy:\n%s", m.label, b)
			}
		}
	}
}

// TestSmokeCases is the cases phase's smoke run: issue 17's six cases
// (small, streaming and large requests at concurrency 1 and 32) against rp
// and router in two rounds, every request answered, every stream complete,
// and the table pairing router with rp has a row per case.
func TestSmokeCases(t *testing.T) {
	smokeCases(t, "go", defaultCases, 300*time.Millisecond, 2, 0)
}

// TestSmokeCasesInterleaved is the cases phase with the modes taking turns
// every 100 ms within each round (-case-block).
func TestSmokeCasesInterleaved(t *testing.T) {
	smokeCases(t, "go", "small@1,stream@2", 300*time.Millisecond, 2, 100*time.Millisecond)
}

// TestSmokeCasesBodyApart is the cases phase with the Go generator sending
// each body after its headers, in a write of its own (-cases-loadgen
// go-apart).
func TestSmokeCasesBodyApart(t *testing.T) {
	smokeCases(t, "go-apart", "small@1,large@2", 300*time.Millisecond, 1, 0)
}

// TestSmokeCasesOneWrite is the cases phase with the Go generator sending
// each request in one write (-cases-loadgen go-onewrite), the modes taking
// turns within the rounds.
func TestSmokeCasesOneWrite(t *testing.T) {
	smokeCases(t, "go-onewrite", "small@1,large@2", 300*time.Millisecond, 1, 100*time.Millisecond)
}

// TestSmokeCasesWrk is the cases phase with wrk sending the requests
// (-cases-loadgen wrk), in one short round: wrk's median latency must reach
// the table. It needs wrk (.ci/run installs it).
func TestSmokeCasesWrk(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if testservices.InCI() {
			t.Fatal("wrk is not installed: .ci/run installs it")
		}
		t.Skip("wrk is not installed (apt-get install -y wrk)")
	}
	smokeCases(t, "wrk", "small@1,stream@1,large@2", time.Second, 1, 0)
}

// smokeCasesConfig is the configuration of a smoke run of the cases phase:
// list's cases against rp and router, sent by generator gen, Caddy being
// this test binary. It skips where the benchmark cannot run.
func smokeCasesConfig(t *testing.T, gen, list string) *config {
	t.Helper()
	if testing.Short() {
		t.Skip("smoke run of the load benchmark: skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	cases, err := parseCases(list)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config{
		modes:    []string{"rp", "router"},
		rpIdle:   256,
		largeKB:  32,
		loadgen:  "go",
		casesGen: gen,
		caddyCmd: []string{os.Args[0]},
		caddyEnv: []string{childEnv + "=1"},
		out:      "-",
		portLo:   18000,
		portHi:   18999,
		workDir:  t.TempDir(),
		logf:     t.Logf,
		smoke:    true,
		phases:   map[string]bool{"cases": true},
		cases:    cases,
	}
	applySmoke(cfg)
	return cfg
}

// runSmoke runs cfg and returns the results with their report, logged.
func runSmoke(t *testing.T, cfg *config) (*results, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	md := res.markdown()
	t.Log("\n" + md)
	return res, md
}

// smokeCases runs the cases phase with generator gen (and turns of block
// within each round, if not 0), and checks that every case measured what
// the table shows.
func smokeCases(t *testing.T, gen, list string, d time.Duration, rounds int, block time.Duration) {
	t.Helper()
	cfg := smokeCasesConfig(t, gen, list)
	cfg.duration, cfg.rounds, cfg.caseBlock = d, rounds, block
	res, md := runSmoke(t, cfg)
	if len(res.cases) != len(cfg.cases) {
		t.Fatalf("%d cases measured, want %d", len(res.cases), len(cfg.cases))
	}
	for _, cr := range res.cases {
		for _, mode := range cfg.modes {
			rounds := cr.rounds[mode]
			if len(rounds) != cfg.rounds {
				t.Fatalf("case %s, %s: %d rounds, want %d", cr.c, mode, len(rounds), cfg.rounds)
			}
			errs, streams, complete, first := cr.failures(mode)
			if errs > 0 || complete != streams || (cr.c.kind.stream() && streams == 0) {
				t.Errorf("case %s, %s: %d failed (first: %s), %d of %d streams complete", cr.c, mode, errs, first, complete, streams)
			}
			for i, r := range rounds {
				if want := map[bool]string{true: "wrk", false: "go"}[gen == "wrk"]; r.gen != want {
					t.Errorf("case %s, %s, round %d: sent by %s, want %s", cr.c, mode, i+1, r.gen, want)
				}
				if r.requests == 0 || r.cpuPerReqUS <= 0 || r.p50 <= 0 {
					t.Errorf("case %s, %s, round %d: %d requests, CPU %.1f µs/request, p50 %s", cr.c, mode, i+1, r.requests, r.cpuPerReqUS, r.p50)
				}
				if gen != "wrk" && cr.c.kind.stream() && r.ttft50 <= 0 {
					t.Errorf("case %s, %s, round %d: no first-event latency", cr.c, mode, i+1)
				}
				if gen != "wrk" && cr.c.kind.stream() && (r.done50 < r.ttft50 || r.done50 > r.p50) {
					t.Errorf("case %s, %s, round %d: last event at %s, want between the first event (%s) and the last byte (%s)",
						cr.c, mode, i+1, r.done50, r.ttft50, r.p50)
				}
			}
		}
		if _, each, ok := cr.paired("rp", "router", func(x caseRound) float64 { return x.cpuPerReqUS }, false); !ok || len(each) != cfg.rounds {
			t.Errorf("case %s: no paired CPU difference per round", cr.c)
		}
		if !strings.Contains(md, "| "+cr.c.String()+" |") {
			t.Errorf("the report has no row for case %s", cr.c)
		}
	}
	if !strings.Contains(md, "-cases-loadgen "+gen) {
		t.Errorf("the report does not say which generator sent the requests (-cases-loadgen %s)", gen)
	}
	if block > 0 && !strings.Contains(md, fmt.Sprintf("taking turns every %s within each round", block)) {
		t.Errorf("the report does not say that the modes took turns every %s", block)
	}
}

// TestSmokeCasesBaseBuild runs mode router-base beside the router: its
// Caddy is the -base-caddy binary (here a script that notes each start and
// then runs this test binary as Caddy), and the report pairs it with rp as
// it does the router.
func TestSmokeCasesBaseBuild(t *testing.T) {
	cfg := smokeCasesConfig(t, "go", "small@1,stream@1")
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	base := filepath.Join(dir, "base-caddy")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> '%s'\nexec '%s' \"$@\"\n", started, os.Args[0])
	if err := os.WriteFile(base, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.modes, cfg.baseCaddy = []string{"rp", "router", "router-base"}, base
	cfg.duration, cfg.rounds = 300*time.Millisecond, 1
	res, md := runSmoke(t, cfg)

	runs, err := os.ReadFile(started)
	if err != nil {
		t.Fatalf("the -base-caddy binary never ran: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(runs)), "\n") {
		if !strings.Contains(line, "router-base.Caddyfile") {
			t.Errorf("the -base-caddy binary ran for another mode: %s", line)
		}
	}
	for _, cr := range res.cases {
		rounds := cr.rounds["router-base"]
		if len(rounds) != 1 || rounds[0].requests == 0 {
			t.Errorf("case %s, router-base: %d rounds, want 1 with requests", cr.c, len(rounds))
		}
		errs, streams, complete, first := cr.failures("router-base")
		if errs > 0 || complete != streams {
			t.Errorf("case %s, router-base: %d failed (first: %s), %d of %d streams complete", cr.c, errs, first, complete, streams)
		}
	}
	if !strings.Contains(md, "CPU/req router-base - rp µs") {
		t.Error("the report does not pair router-base with rp")
	}
}

func TestParseCases(t *testing.T) {
	cs, err := parseCases("small@1, stream@32,large+stream@4")
	if err != nil {
		t.Fatal(err)
	}
	want := []benchCase{{smallJSON, 1}, {smallStream, 32}, {largeStream, 4}}
	if len(cs) != len(want) {
		t.Fatalf("got %v, want %v", cs, want)
	}
	for i := range want {
		if cs[i] != want[i] {
			t.Errorf("case %d: got %v, want %v", i, cs[i], want[i])
		}
	}
	for _, bad := range []string{"small", "small@0", "huge@1", "small@x"} {
		if _, err := parseCases(bad); err == nil {
			t.Errorf("parseCases(%q): no error", bad)
		}
	}
}
