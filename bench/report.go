package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	phase string // serial, open or closed
	name  string
	value func(*modeResult) (float64, bool)
	unit  string // how value is printed: "ms", "us", "rps", "mb", "ratio"
	// check compares (c) with (b): the ratio shown, the target, and whether
	// it is met. nil: informational.
	check  func(b, c float64) (ok bool)
	target string
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func (r *results) rows() []row {
	cfg := r.cfg
	rows := []row{
		{phase: "closed", name: fmt.Sprintf("CPU per request, closed loop (µs; Caddy's utime+stime / requests, %s -c%d, median of %d rounds)", r.gen, cfg.conns, cfg.rounds),
			unit: "us", target: "≤ b + 20 µs", check: func(b, c float64) bool { return c <= b+20 },
			value: func(m *modeResult) (float64, bool) { return m.closed.cpuPerReqUS, m.name != "direct" }},
		{phase: "closed", name: fmt.Sprintf("max throughput, closed loop (req/s, %s -c%d, median of %d rounds)", r.gen, cfg.conns, cfg.rounds),
			unit: "rps", target: "≥ 0.85 × b", check: func(b, c float64) bool { return c >= 0.85*b },
			value: func(m *modeResult) (float64, bool) { return m.closed.rps, true }},
		{phase: "serial", name: fmt.Sprintf("serial p50 (ms; %d requests, 1 connection)", cfg.serialN),
			unit: "ms", target: "≤ b + 0.035 ms", check: func(b, c float64) bool { return c <= b+0.035 },
			value: func(m *modeResult) (float64, bool) { return ms(m.serial.lat.pct(0.5)), true }},
		{phase: "serial", name: "serial p50 added to (a) (ms)", unit: "ms",
			value: func(m *modeResult) (float64, bool) {
				a := r.mode("direct")
				if a == nil || m.name == "direct" {
					return 0, false
				}
				return ms(m.serial.lat.pct(0.5) - a.serial.lat.pct(0.5)), true
			}},
		{phase: "serial", name: "serial p99 (ms)", unit: "ms",
			value: func(m *modeResult) (float64, bool) { return ms(m.serial.lat.pct(0.99)), true }},
	}
	for i, rate := range cfg.rates {
		rows = append(rows,
			row{phase: "open", name: fmt.Sprintf("open loop %d req/s: p50 (ms)", rate), unit: "ms",
				value: func(m *modeResult) (float64, bool) { return ms(m.open[i].lat.pct(0.5)), len(m.open) > i }},
			row{phase: "open", name: fmt.Sprintf("open loop %d req/s: p99 (ms)", rate), unit: "ms",
				target: "≤ 1.2 × b", check: func(b, c float64) bool { return c <= 1.2*b },
				value: func(m *modeResult) (float64, bool) { return ms(m.open[i].lat.pct(0.99)), len(m.open) > i }})
	}
	last := len(cfg.rates) - 1
	rows = append(rows,
		row{phase: "serial", name: "time to first streamed event, serial p50 (ms)", unit: "ms",
			value: func(m *modeResult) (float64, bool) { return ms(m.serial.ttft.pct(0.5)), true }},
		row{phase: "open", name: fmt.Sprintf("time to first streamed event at %d req/s: p50 (ms)", cfg.rates[last]), unit: "ms",
			target: "≤ b + 1 ms", check: func(b, c float64) bool { return c <= b+1 },
			value: func(m *modeResult) (float64, bool) { return ms(m.open[last].ttft.pct(0.5)), len(m.open) > last }},
		row{phase: "open", name: fmt.Sprintf("time to first streamed event at %d req/s: p99 (ms)", cfg.rates[last]), unit: "ms",
			value: func(m *modeResult) (float64, bool) { return ms(m.open[last].ttft.pct(0.99)), len(m.open) > last }},
		row{name: "streams complete, all phases (%)", unit: "pct",
			target: "100 %", check: func(_, c float64) bool { return c == 100 },
			value: func(m *modeResult) (float64, bool) {
				s, c := m.streams()
				if s == 0 {
					return 0, false
				}
				return 100 * float64(c) / float64(s), true
			}},
		row{phase: "open", name: fmt.Sprintf("peak RSS at %d req/s (MB; VmHWM)", cfg.rates[last]), unit: "mb",
			target: "≤ b + 20 MB", check: func(b, c float64) bool { return c <= b+20 },
			value: func(m *modeResult) (float64, bool) { return float64(m.rssPeakKB) / 1024, m.name != "direct" }},
	)
	kept := rows[:0]
	for _, rw := range rows {
		if rw.phase == "" || cfg.phases[rw.phase] {
			kept = append(kept, rw)
		}
	}
	return kept
}

// streams counts streams started and completed over every measured phase.
func (m *modeResult) streams() (started, complete int) {
	started, complete = m.serial.streams, m.serial.complete
	for _, o := range m.allOpen() {
		started += o.streams
		complete += o.complete
	}
	return started + m.closed.streams, complete + m.closed.complete
}

// errors counts failed requests over every measured phase.
func (m *modeResult) errors() (n int, first string) {
	n, first = m.serial.errs, m.serial.firstErr
	for _, o := range m.allOpen() {
		n += o.errs
		if first == "" {
			first = o.firstErr
		}
	}
	n += m.closed.errors
	if first == "" {
		first = m.closed.firstErr
	}
	return n, first
}

func (m *modeResult) requests() int {
	n := m.serial.n + m.closed.requests
	for _, o := range m.allOpen() {
		n += o.n
	}
	return n
}

// allOpen is every open-loop window of every round.
func (m *modeResult) allOpen() []summary {
	var out []summary
	for _, rounds := range m.openRounds {
		out = append(out, rounds...)
	}
	return out
}

func (r *results) mode(name string) *modeResult {
	for _, m := range r.modes {
		if m.name == name {
			return m
		}
	}
	return nil
}

// pairedCPU is, round by round, m's CPU per request minus b's in the same
// round, or nil when there is nothing to pair (m is b or the direct mode, or
// a mode lacks rounds). Rounds are consecutive windows and the order of the
// modes alternates between rounds (turns), so a pair meets nearly the same
// machine: the pairs show how much of a gap between the medians is the
// machine drifting between windows rather than the code.
func pairedCPU(b, m *modeResult) []float64 {
	if b == nil || m == b || m.name == "direct" || len(b.closedRounds) == 0 || len(b.closedRounds) != len(m.closedRounds) {
		return nil
	}
	d := make([]float64, len(m.closedRounds))
	for i, c := range m.closedRounds {
		d[i] = c.cpuPerReqUS - b.closedRounds[i].cpuPerReqUS
	}
	return d
}

// meanCI95 is the mean of xs and the half-width of its 95 % confidence
// interval (Student's t, as the pairs are few and their spread is estimated
// from themselves). ok is false for fewer than two values.
func meanCI95(xs []float64) (mean, half float64, ok bool) {
	n := len(xs)
	if n < 2 {
		return 0, 0, false
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	return mean, tCritical95(n-1) * sd / math.Sqrt(float64(n)), true
}

// tCritical95 is the two-sided 95 % critical value of Student's t with df
// degrees of freedom; past 30, df 30's value, which errs on the wide side.
func tCritical95(df int) float64 {
	table := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	if df < 1 {
		return math.Inf(1)
	}
	return table[min(df, len(table))-1]
}

func format(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.3f", v)
	case "us":
		return fmt.Sprintf("%.1f", v)
	case "rps":
		return fmt.Sprintf("%.0f", v)
	case "mb":
		return fmt.Sprintf("%.1f", v)
	case "pct":
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprint(v)
}

// markdown is the report: the main table, then diagnostics, the configs and
// the machine.
func (r *results) markdown() string {
	cfg := r.cfg
	var b strings.Builder
	b.WriteString("# llm_router load benchmark\n\n")
	fmt.Fprintf(&b, "Run %s, %s; command: `go run ./bench %s`\n\n", r.started.Format("2006-01-02 15:04:05"),
		r.elapsed.Round(time.Second), strings.Join(os.Args[1:], " "))
	if cfg.smoke {
		b.WriteString("**Smoke run**: short phases and low rates; the figures mean nothing and no verdict is given.\n\n")
	}
	fmt.Fprintf(&b, "Machine: %s. Caddy pinned to core 0: %v; load generator (%s) and fake vendor on core 1. "+
		"Mix: %s, in equal shares (small prompts ~%d B, large %d KiB; streams have %d content chunks + usage). "+
		"Each measured phase: %s; the open and closed loops in %d rounds, the modes taking turns.\n\n", machine(), cfg.pin, r.gen,
		kindList(cfg.kinds), len(newMix(0, nil).bodies[smallJSON]), cfg.largeKB, len(replyWords), cfg.duration, cfg.rounds)
	if cfg.bareVendor {
		b.WriteString("The fake vendor answered without OpenAI's own headers (-bare-vendor).\n\n")
	} else {
		b.WriteString("The fake vendor answered with OpenAI's own headers (x-request-id, openai-processing-ms, openai-version and " +
			"the account's six x-ratelimit-*): reverse_proxy forwards them all, the router all but the x-ratelimit-*.\n\n")
	}

	b_, c_ := r.mode("rp"), r.mode("router")
	verdicts := b_ != nil && c_ != nil && !cfg.smoke
	b.WriteString("| metric |")
	for _, m := range r.modes {
		fmt.Fprintf(&b, " %s |", m.label)
	}
	if verdicts {
		b.WriteString(" c/b | target | |")
	}
	b.WriteString("\n|---|")
	for range r.modes {
		b.WriteString("---:|")
	}
	if verdicts {
		b.WriteString("---:|---|---|")
	}
	b.WriteString("\n")
	pass, fail := 0, 0
	for _, rw := range r.rows() {
		fmt.Fprintf(&b, "| %s |", rw.name)
		for _, m := range r.modes {
			if v, ok := rw.value(m); ok {
				fmt.Fprintf(&b, " %s |", format(v, rw.unit))
			} else {
				b.WriteString(" – |")
			}
		}
		if verdicts {
			bv, bok := rw.value(b_)
			cv, cok := rw.value(c_)
			ratio := "–"
			if bok && cok && bv != 0 {
				ratio = fmt.Sprintf("%.2f", cv/bv)
			}
			verdict := ""
			if rw.check != nil && bok && cok {
				if rw.check(bv, cv) {
					verdict = "pass"
					pass++
				} else {
					verdict = "**FAIL**"
					fail++
				}
			}
			fmt.Fprintf(&b, " %s | %s | %s |", ratio, rw.target, verdict)
		}
		b.WriteString("\n")
	}
	if verdicts {
		fmt.Fprintf(&b, "\nTargets met: %d of %d.\n", pass, pass+fail)
	}

	r.casesMarkdown(&b)

	b.WriteString("\n### Checks and diagnostics\n\n| | ")
	for _, m := range r.modes {
		fmt.Fprintf(&b, " %s |", m.label)
	}
	b.WriteString("\n|---|")
	for range r.modes {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	diag := func(name string, f func(m *modeResult) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, m := range r.modes {
			fmt.Fprintf(&b, " %s |", f(m))
		}
		b.WriteString("\n")
	}
	diag("requests measured / failed", func(m *modeResult) string {
		n, _ := m.errors()
		return fmt.Sprintf("%d / %d", m.requests(), n)
	})
	diag("requests served, warm-up included", func(m *modeResult) string {
		return fmt.Sprintf("%d", m.requests()+m.warmReqs)
	})
	diag("streams started / complete", func(m *modeResult) string {
		s, c := m.streams()
		return fmt.Sprintf("%d / %d", s, c)
	})
	for i, rate := range cfg.rates {
		if !cfg.phases["open"] {
			break
		}
		diag(fmt.Sprintf("open loop %d req/s: achieved rate; send lag p99 (ms); p99.9 (ms)", rate), func(m *modeResult) string {
			if len(m.open) <= i {
				return "–"
			}
			o := m.open[i]
			return fmt.Sprintf("%.0f; %.3f; %.3f", float64(o.n)/o.wall.Seconds(), ms(o.lag.pct(0.99)), ms(o.lat.pct(0.999)))
		})
	}
	for i, rate := range cfg.rates {
		if !cfg.phases["open"] || cfg.rounds < 2 {
			break
		}
		diag(fmt.Sprintf("open loop %d req/s, each round: p99 (ms)", rate), func(m *modeResult) string {
			if len(m.openRounds) <= i {
				return "–"
			}
			var parts []string
			for _, o := range m.openRounds[i] {
				parts = append(parts, fmt.Sprintf("%.3f", ms(o.lat.pct(0.99))))
			}
			return strings.Join(parts, ", ")
		})
	}
	diag("other processes' CPU during each phase (cores)", func(m *modeResult) string {
		var parts []string
		if cfg.phases["serial"] {
			parts = append(parts, fmt.Sprintf("serial %.2f", m.serial.noise))
		}
		for i, o := range m.open {
			parts = append(parts, fmt.Sprintf("%d/s %.2f", cfg.rates[i], o.noise))
		}
		if cfg.phases["closed"] {
			parts = append(parts, fmt.Sprintf("closed %.2f", m.closed.noise))
		}
		return strings.Join(parts, ", ")
	})
	closed := func(name string, f func(m *modeResult) string) {
		if cfg.phases["closed"] {
			diag(name, f)
		}
	}
	closed(fmt.Sprintf("closed loop, each of %d rounds: CPU per request (µs); throughput (req/s)", len(r.modes[0].closedRounds)), func(m *modeResult) string {
		var cpu, rps []string
		for _, c := range m.closedRounds {
			cpu = append(cpu, fmt.Sprintf("%.1f", c.cpuPerReqUS))
			rps = append(rps, fmt.Sprintf("%.0f", c.rps))
		}
		if m.name == "direct" {
			return strings.Join(rps, ", ")
		}
		return strings.Join(cpu, ", ") + "; " + strings.Join(rps, ", ")
	})
	closed("closed loop, each round: CPU per request minus (b)'s in the same round (µs); their median; their mean ± 95 % confidence", func(m *modeResult) string {
		d := pairedCPU(r.mode("rp"), m)
		if d == nil {
			return "–"
		}
		parts := make([]string, len(d))
		for i, v := range d {
			parts[i] = fmt.Sprintf("%+.1f", v)
		}
		out := fmt.Sprintf("%s; %+.1f", strings.Join(parts, ", "), upperMedian(append([]float64(nil), d...)))
		if mean, half, ok := meanCI95(d); ok {
			out += fmt.Sprintf("; %+.1f ± %.1f", mean, half)
		}
		return out
	})
	closed("closed loop: Caddy CPU (cores busy)", func(m *modeResult) string {
		if m.name == "direct" {
			return "–"
		}
		return fmt.Sprintf("%.2f", m.closed.caddyBusy)
	})
	closed("closed loop: core 0 / core 1 busy (all processes)", func(m *modeResult) string {
		return fmt.Sprintf("%.0f%% / %.0f%%", 100*m.closed.cores[0], 100*m.closed.cores[1])
	})
	if cfg.phases["serial"] {
		diag("serial: Caddy's read / write syscalls per request", func(m *modeResult) string {
			if m.name == "direct" {
				return "–"
			}
			return fmt.Sprintf("%.1f / %.1f", m.serialSys[0], m.serialSys[1])
		})
	}
	closed("closed loop: Caddy's read / write syscalls per request", func(m *modeResult) string {
		if m.name == "direct" {
			return "–"
		}
		return fmt.Sprintf("%.1f / %.1f", m.closed.sys[0], m.closed.sys[1])
	})
	closed("closed loop: fake vendor + Go side CPU per request (µs)", func(m *modeResult) string {
		return fmt.Sprintf("%.1f", m.closed.benchCPUPerReqUS)
	})
	closed("closed loop: vendor connections opened / requests", func(m *modeResult) string {
		return fmt.Sprintf("%d / %d", m.closed.upConns, m.closed.upReqs)
	})
	if cfg.phases["open"] {
		diag(fmt.Sprintf("peak RSS at %d req/s, sampled VmRSS (MB)", cfg.rates[len(cfg.rates)-1]), func(m *modeResult) string {
			if m.name == "direct" {
				return "–"
			}
			return fmt.Sprintf("%.1f", float64(m.rssSampledKB)/1024)
		})
	}
	for k := range numKinds {
		if !cfg.phases["serial"] || len(r.modes) == 0 || len(r.modes[0].serial.byKind[k]) == 0 {
			continue
		}
		diag(fmt.Sprintf("serial p50, %s (ms)", kind(k)), func(m *modeResult) string {
			return format(ms(m.serial.byKind[k].pct(0.5)), "ms")
		})
	}
	diag("Caddy log written (MB)", func(m *modeResult) string {
		if m.name == "direct" {
			return "–"
		}
		return fmt.Sprintf("%.1f", float64(m.logBytes)/(1<<20))
	})
	for _, m := range r.modes {
		if n, first := m.errors(); n > 0 {
			fmt.Fprintf(&b, "\n%s: %d failed requests; first: %s\n", m.label, n, first)
		}
	}
	if r.repeated > 0 {
		fmt.Fprintf(&b, "\n%d measurements were repeated because other processes used more than %.2f cores during them.\n",
			r.repeated, noiseLimit)
	}
	if r.waited > time.Second {
		fmt.Fprintf(&b, "\nWaited %s in all for other processes to leave the cores alone (up to %s before each measured window).\n",
			r.waited.Round(time.Second), cfg.quietWait)
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}

	b.WriteString("\n### Configurations\n")
	for _, m := range r.modes {
		if m.caddyfile != "" {
			fmt.Fprintf(&b, "\n%s:\n\n```caddyfile\n%s```\n", m.label, m.caddyfile)
		}
	}
	for _, m := range r.modes {
		if m.profileTop != "" {
			fmt.Fprintf(&b, "\n### CPU profile of %s (closed loop)\n\n```\n%s```\n", m.label, m.profileTop)
		}
	}
	return b.String()
}

// machine describes the host: CPU model, cores, Go version, load.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	cores := 0
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "cpu") && !strings.HasPrefix(line, "cpu ") {
				cores++
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s %s/%s%s", cores, model, runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}

func kindList(kinds []kind) string {
	if len(kinds) == 0 {
		kinds = []kind{smallJSON, smallStream, largeJSON, largeStream}
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}
