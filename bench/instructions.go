package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The instructions phase counts, with valgrind's callgrind, the user-space
// instructions Caddy executes per request, for each mode and case kind.
// Unlike CPU time, the count is the same from one run to the next whatever
// else the machine does: on a 2-core VM whose speed moves by tens of
// percent within seconds, it is the one figure that resolves a change of a
// microsecond. It does not see the kernel (system calls, wake-ups), cache
// misses or how many instructions a cycle retires, so it says what changed
// in the code, and the cases phase says what that is worth in µs.
//
// Each mode's Caddy runs under callgrind with instrumentation off and the
// garbage collector off (GOGC=off): after warmRequests, instrumentation is
// switched on (callgrind_control -i on), the measured requests are sent one
// at a time, and the counts are dumped. A collection's cost depends on when
// it runs and how long the process idles meanwhile (at GOMAXPROCS 1 the
// idle time goes to marking), which would make the count vary by a
// quarter from run to run; allocating still counts, and what the garbage
// costs later follows from the bytes allocated (BenchmarkInProcess's B/op).
const (
	instrWarmRequests     = 200
	instrMeasuredRequests = 1000
)

// instrResult is one mode's count for one kind.
type instrResult struct {
	kind, mode string
	total      float64 // instructions per request
}

func runInstructions(ctx context.Context, cfg *config) ([]instrResult, error) {
	for _, tool := range []string{"valgrind", "callgrind_control", "callgrind_annotate"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the instructions phase needs %s (Debian: apt-get install valgrind)", tool)
		}
	}
	taken := map[int]bool{}
	port, err := freePort(cfg.portLo, cfg.portHi, taken)
	if err != nil {
		return nil, err
	}
	fake, err := startFake(fmt.Sprintf("127.0.0.1:%d", port), cfg.bareVendor)
	if err != nil {
		return nil, fmt.Errorf("starting the fake vendor: %v", err)
	}
	defer fake.Close()
	fakePort := fake.ln.Addr().(*net.TCPAddr).Port

	var out []instrResult
	seen := map[kind]bool{}
	for _, c := range cfg.cases {
		if seen[c.kind] {
			continue // the count does not depend on the connections
		}
		seen[c.kind] = true
		for _, mode := range cfg.modes {
			if mode == "direct" {
				continue
			}
			r, err := countInstructions(ctx, cfg, mode, c.kind, fakePort, taken)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %v", mode, caseKindName(c.kind), err)
			}
			cfg.logf("%s, %s: %.0f instructions per request", mode, r.kind, r.total)
			out = append(out, r)
		}
	}
	return out, nil
}

// countInstructions runs one mode's Caddy under callgrind and counts what
// requests of kind k cost it.
func countInstructions(ctx context.Context, cfg *config, mode string, k kind, fakePort int, taken map[int]bool) (instrResult, error) {
	res := instrResult{kind: caseKindName(k), mode: mode}
	port, err := freePort(cfg.portLo, cfg.portHi, taken)
	if err != nil {
		return res, err
	}
	name := fmt.Sprintf("instr-%s-%s", mode, res.kind)
	dump := filepath.Join(cfg.workDir, name+".callgrind")
	c := *cfg
	c.caddyCmd = append([]string{"valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + dump}, cfg.caddyCmd...)
	// Callgrind cannot follow Go's asynchronous preemption signals.
	c.caddyEnv = append(append([]string(nil), cfg.caddyEnv...), "GODEBUG=asyncpreemptoff=1", "GOGC=off")
	proc, err := startCaddy(&c, name, mode, caddyfileFor(mode, port, fakePort, cfg.rpIdle, ""), port, "")
	if err != nil {
		return res, err
	}
	defer proc.stop()

	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, chatPath)
	m := newMix(cfg.largeKB, []kind{k})
	client := newClient(1)
	send := func(n int) error {
		for range n {
			if s := do(ctx, client, url, m, k, time.Now()); s.err != "" {
				return fmt.Errorf("request failed: %s%s", s.err, tail(proc.logPath, 5))
			}
		}
		return nil
	}
	if err := send(instrWarmRequests); err != nil {
		return res, err
	}
	pid := strconv.Itoa(proc.pid())
	if out, err := exec.CommandContext(ctx, "callgrind_control", "-i", "on", pid).CombinedOutput(); err != nil {
		return res, fmt.Errorf("callgrind_control -i on: %v: %s", err, out)
	}
	if err := send(instrMeasuredRequests); err != nil {
		return res, err
	}
	if out, err := exec.CommandContext(ctx, "callgrind_control", "-d", pid).CombinedOutput(); err != nil {
		return res, fmt.Errorf("callgrind_control -d: %v: %s", err, out)
	}
	dumps, _ := filepath.Glob(dump + ".*")
	if len(dumps) == 0 {
		return res, fmt.Errorf("callgrind wrote no dump next to %s", dump)
	}
	total, err := callgrindTotal(ctx, dumps[0])
	if err != nil {
		return res, err
	}
	res.total = total / instrMeasuredRequests
	return res, nil
}

// annotateLine is a line of callgrind_annotate's report: a count, its
// share, and what it counts.
var annotateLine = regexp.MustCompile(`^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$`)

// callgrindTotal reads the instructions counted in a callgrind dump.
func callgrindTotal(ctx context.Context, path string) (float64, error) {
	out, err := exec.CommandContext(ctx, "callgrind_annotate", path).Output()
	if err != nil {
		return 0, fmt.Errorf("callgrind_annotate: %v", err)
	}
	total := parseAnnotate(out)
	if total == 0 {
		return 0, fmt.Errorf("no totals in callgrind_annotate's report of %s", path)
	}
	return total, nil
}

// parseAnnotate reads the program's total from callgrind_annotate's report,
// or 0.
func parseAnnotate(report []byte) float64 {
	sc := bufio.NewScanner(bytes.NewReader(report))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if m := annotateLine.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(m[2], "PROGRAM TOTALS") {
			n, _ := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
			return n
		}
	}
	return 0
}

// instructionsMarkdown is the instructions phase's table: per kind, each
// mode's count, and each mode's difference to rp.
func instructionsMarkdown(cfg *config, rs []instrResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Instructions per request (callgrind)\n\n"+
		"User-space instructions Caddy executed per request, %d requests of each kind sent one at a time after %d unmeasured ones, "+
		"counted by valgrind's callgrind with the garbage collector off (GOGC=off; allocating is counted, collecting is not): "+
		"the same from run to run, whatever else the machine does. Kernel time, cache misses and instructions per cycle "+
		"are not counted: the cases phase gives what a difference costs in µs.\n\n", instrMeasuredRequests, instrWarmRequests)
	fmt.Fprintf(&b, "Command: `go run ./bench %s`. Machine: %s.\n\n", strings.Join(os.Args[1:], " "), machine())
	b.WriteString("| kind | mode | instructions/request | minus rp |\n|---|---|---:|---:|\n")
	base := map[string]float64{}
	for _, r := range rs {
		if r.mode == "rp" {
			base[r.kind] = r.total
		}
	}
	for _, r := range rs {
		diff := "–"
		if v, ok := base[r.kind]; ok && r.mode != "rp" {
			diff = fmt.Sprintf("%+.1fk", (r.total-v)/1e3)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1fk | %s |\n", r.kind, r.mode, r.total/1e3, diff)
	}
	if cfg.caddyCmd != nil {
		fmt.Fprintf(&b, "\nCaddy: `%s`\n", strings.Join(cfg.caddyCmd, " "))
	}
	return b.String()
}
