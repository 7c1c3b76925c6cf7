package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// caddyProc is one Caddy process under test.
type caddyProc struct {
	name    string
	port    int
	admin   string // host:port of the admin endpoint, "" when off
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startCaddy writes caddyfile into dir and runs `caddy run` on it for mode,
// pinned to core 0 when pin is set, and waits until it answers on port.
func startCaddy(cfg *config, name, mode, caddyfile string, port int, admin string) (*caddyProc, error) {
	path := filepath.Join(cfg.workDir, name+".Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o644); err != nil {
		return nil, err
	}
	args := cfg.commandFor(mode)
	args = append(args, "run", "--config", path, "--adapter", "caddyfile")
	if cfg.pin {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	p := &caddyProc{name: name, port: port, admin: admin, logPath: filepath.Join(cfg.workDir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	home := filepath.Join(cfg.workDir, "home-"+name)
	cmd.Env = append(os.Environ(), cfg.caddyEnv...)
	cmd.Env = append(cmd.Env, "HOME="+home, "XDG_CONFIG_HOME="+home+"/config", "XDG_DATA_HOME="+home+"/data")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %v", strings.Join(args, " "), err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if err := p.waitReady(30 * time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("caddy %s did not come up: %v\n%s", name, err, tail(p.logPath, 20))
	}
	return p, nil
}

// waitReady polls the port until a GET gets any HTTP answer.
func (p *caddyProc) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.waitErr)
		default:
		}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.port))
		if err == nil {
			drain(resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *caddyProc) pid() int { return p.cmd.Process.Pid }

// stop asks Caddy to exit and kills it if it does not within 10 s.
func (p *caddyProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// cpuTicks is the process's user+system CPU time in clock ticks
// (/proc/PID/stat fields 14 and 15).
func cpuTicks(pid int) (int64, error) {
	user, system, err := cpuSplit(pid)
	return user + system, err
}

// cpuSplit is the process's user and system CPU time in clock ticks.
func cpuSplit(pid int) (user, system int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; fields restart after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, 0, errors.New("short stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("malformed stat times")
	}
	return ut, st, nil
}

// statusKB reads a "Name:   123 kB" line of /proc/PID/status.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// resetPeakRSS resets VmHWM to the current RSS (clear_refs "5").
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// clockTicks is CLK_TCK from getconf (100 when getconf fails).
func clockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}

// coreTimes is /proc/stat's busy and total jiffies per CPU.
type coreTimes struct{ busy, total [2]int64 }

func readCores() coreTimes {
	var ct coreTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return ct
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || (f[0] != "cpu0" && f[0] != "cpu1") {
			continue
		}
		cpu := int(f[0][3] - '0')
		var v [8]int64
		for i := range v {
			v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
		}
		// user nice system idle iowait irq softirq steal
		ct.busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		ct.total[cpu] = ct.busy[cpu] + v[3] + v[4]
	}
	return ct
}

// busyShare is the share of each core that was busy between a and b.
func busyShare(a, b coreTimes) [2]float64 {
	var out [2]float64
	for i := range out {
		if t := b.total[i] - a.total[i]; t > 0 {
			out[i] = float64(b.busy[i]-a.busy[i]) / float64(t)
		}
	}
	return out
}

// freePort finds a port in [lo, hi] that nobody listens on, trying random
// ones. A port is free when binding 127.0.0.1 on it works; it is released
// again for the caller to use.
func freePort(lo, hi int, taken map[int]bool) (int, error) {
	for range 200 {
		p := lo + rand.IntN(hi-lo+1)
		if taken[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		taken[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free port in %d-%d", lo, hi)
}

// fetch GETs url into path (a pprof profile) within ctx.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadFrom(resp.Body)
	return err
}

// tail is the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// noiseProbe measures the CPU that other processes (other test suites, the
// rest of the machine) used on the two cores during a phase: everything busy
// on cores 0 and 1 minus this process, the Caddy processes and wrk.
type noiseProbe struct {
	pids  []int
	cores coreTimes
	own   int64
	start time.Time
}

func startNoise(pids []int) *noiseProbe {
	p := &noiseProbe{pids: pids, start: time.Now()}
	p.cores, p.own = readCores(), ownTicks(pids)
	return p
}

func ownTicks(pids []int) int64 {
	var t int64
	for _, pid := range append([]int{os.Getpid()}, pids...) {
		if v, err := cpuTicks(pid); err == nil {
			t += v
		}
	}
	return t
}

// stop returns the other processes' CPU in cores (0.25: a quarter of a core
// on average); extraTicks is CPU of ours that /proc does not show in pids
// (wrk, which has exited).
func (p *noiseProbe) stop(extraTicks int64) float64 {
	c := readCores()
	busy := c.busy[0] - p.cores.busy[0] + c.busy[1] - p.cores.busy[1]
	total := (c.total[0] - p.cores.total[0] + c.total[1] - p.cores.total[1]) / 2
	own := ownTicks(p.pids) - p.own + extraTicks
	if total <= 0 {
		return 0
	}
	return max(float64(busy-own), 0) / float64(total)
}

// waitQuiet waits until other processes use less than limit cores over a
// 1.5 s window, for at most wait; it reports the last reading.
func waitQuiet(ctx context.Context, limit float64, wait time.Duration, logf func(string, ...any)) float64 {
	deadline := time.Now().Add(wait)
	for {
		p := startNoise(nil)
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(1500 * time.Millisecond):
		}
		n := p.stop(0)
		if n < limit || time.Now().After(deadline) {
			return n
		}
		logf("other processes use %.2f cores; waiting for a quieter machine (up to %s)", n, time.Until(deadline).Round(time.Second))
	}
}

// procCounts are where a process's time goes besides its own code: its
// read-like and write-like syscalls (/proc/PID/io syscr and syscw), its
// system CPU time in clock ticks, and its threads' context switches
// (voluntary and involuntary, summed over /proc/PID/task/*/status): at one
// connection, a request's cost is largely in waking up.
type procCounts struct{ reads, writes, sysTicks, switches int64 }

func readCounts(pid int) procCounts {
	var c procCounts
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			c.reads, _ = strconv.ParseInt(v, 10, 64)
		} else if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			c.writes, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	_, c.sysTicks, _ = cpuSplit(pid)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			name, v, ok := strings.Cut(line, ":")
			if ok && (name == "voluntary_ctxt_switches" || name == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				c.switches += n
			}
		}
	}
	return c
}

// perRequest is the syscalls per request between a and b.
func (b procCounts) perRequest(a procCounts, requests int) [2]float64 {
	if requests == 0 {
		return [2]float64{}
	}
	return [2]float64{float64(b.reads-a.reads) / float64(requests), float64(b.writes-a.writes) / float64(requests)}
}

// wakeups is, per request between a and b, the system CPU time in µs
// (tick is a clock tick) and the context switches.
func (b procCounts) wakeups(a procCounts, requests int, tick time.Duration) (sysUS, switches float64) {
	if requests == 0 {
		return 0, 0
	}
	n := float64(requests)
	return float64(b.sysTicks-a.sysTicks) * float64(tick) / 1e3 / n, float64(b.switches-a.switches) / n
}

// commandFor is the command that runs Caddy for mode: cfg.caddyCmd (whose
// last element is the binary), with the -base-caddy build for router-base.
func (cfg *config) commandFor(mode string) []string {
	cmd := append([]string{}, cfg.caddyCmd...)
	if mode == "router-base" {
		cmd[len(cmd)-1] = cfg.baseCaddy
	}
	return cmd
}
