package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// benchCase is one cell of issue 17's table: one request kind alone, sent
// by a fixed number of connections in a closed loop. At concurrency 1 it
// measures the serial path (wake-ups, timers, goroutine hand-offs, flushes
// per event); at 32, CPU per request under load.
type benchCase struct {
	kind  kind
	conns int
}

func (c benchCase) String() string { return fmt.Sprintf("%s@%d", caseKindName(c.kind), c.conns) }

// caseKinds are the names -cases accepts for the request kinds: issue 17
// calls them small (196-byte chat), stream (20 content chunks; the fake sends
// one per word of its 21-word answer) and large
// (32 KB prompt); the mix's own names work too.
var caseKinds = map[string]kind{"small": smallJSON, "stream": smallStream, "large": largeJSON}

func caseKindName(k kind) string {
	for n, kk := range caseKinds {
		if kk == k {
			return n
		}
	}
	return k.String()
}

// defaultCases is issue 17's table: small, stream and large, each at
// concurrency 1 and 32.
const defaultCases = "small@1,small@32,stream@1,stream@32,large@1,large@32"

// parseCases reads -cases: kind@connections, comma-separated.
func parseCases(s string) ([]benchCase, error) {
	var out []benchCase
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, conns, ok := strings.Cut(item, "@")
		if !ok {
			return nil, fmt.Errorf("case %q: want kind@connections, e.g. small@1", item)
		}
		k, found := caseKinds[name]
		if !found {
			ks, err := parseKinds(name)
			if err != nil {
				return nil, fmt.Errorf("case %q: unknown kind %q (want small, stream, large or one of %s)", item, name, strings.Join(kindNames[:], ", "))
			}
			k = ks[0]
		}
		n, err := strconv.Atoi(conns)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("case %q: bad connection count %q", item, conns)
		}
		out = append(out, benchCase{kind: k, conns: n})
	}
	return out, nil
}

// caseRound is one mode's window of one case in one round.
type caseRound struct {
	closedResult
	p50, ttft50 time.Duration // latency to the last byte, and streams' to the first content event
	done50      time.Duration // streams' latency to their last event, data: [DONE]
}

// caseResult is a case: per mode, its rounds in order.
type caseResult struct {
	c      benchCase
	rounds map[string][]caseRound
}

// runCases runs the cases phase: for each case, cfg.rounds rounds in which
// the modes take turns (in alternating order), each a closed loop of the
// case's connections sending only its kind for cfg.duration, Caddy's CPU
// taken from /proc. Differences are paired by round: router minus rp in
// the same round.
func runCases(ctx context.Context, cfg *config, runs []*modeRun, fake *fakeVendor,
	measure func(string, func() (float64, error)) error) ([]*caseResult, error) {
	var out []*caseResult
	for _, c := range cfg.cases {
		cr := &caseResult{c: c, rounds: map[string][]caseRound{}}
		out = append(out, cr)
		m := newMix(cfg.largeKB, []kind{c.kind})
		m.bodyApart = cfg.casesGen == "go-apart"
		m.oneWrite = cfg.casesGen == "go-onewrite"
		ccfg := *cfg
		ccfg.conns, ccfg.useWrk = c.conns, cfg.casesGen == "wrk"
		if ccfg.useWrk {
			script, err := writeWrkScript(cfg.workDir, "case-"+c.kind.String(), m)
			if err != nil {
				return nil, err
			}
			ccfg.wrkScript = script
		}
		if cfg.caseBlock > 0 && !ccfg.useWrk {
			if err := interleavedCase(ctx, cfg, m, c, cr, runs, measure); err != nil {
				return nil, err
			}
			continue
		}
		// A profile per case and mode, taken in the last round only: it
		// costs Caddy CPU, so the other rounds stay clean.
		for round := 0; round < cfg.rounds; round++ {
			ccfg.profile = cfg.profile && round == cfg.rounds-1
			for _, mr := range turns(runs, round) {
				time.Sleep(cfg.pause)
				caseRun := &modeRun{name: mr.name + "-" + strings.ReplaceAll(c.String(), "@", "-c"), url: mr.url, proc: mr.proc}
				var kept caseRound
				what := fmt.Sprintf("case %s, %s, round %d", c, mr.name, round+1)
				err := measure(what, func() (float64, error) {
					cfg.logf("case %s: %s, round %d of %d, %d connections for %s", c, mr.name, round+1, cfg.rounds, c.conns, cfg.duration)
					res, s, err := closedPhaseSummary(ctx, &ccfg, m, caseRun, fake, pids(runs))
					kept = caseRound{closedResult: res, p50: s.lat.pct(0.5), ttft50: s.ttft.pct(0.5), done50: s.done.pct(0.5)}
					if res.gen == "wrk" {
						kept.p50 = res.p50
					}
					return res.noise, err
				})
				if err != nil {
					return nil, err
				}
				cr.rounds[mr.name] = append(cr.rounds[mr.name], kept)
			}
		}
		if cfg.profile {
			for _, mr := range runs {
				if mr.proc != nil {
					caseRun := &modeRun{name: mr.name + "-" + strings.ReplaceAll(c.String(), "@", "-c"), proc: mr.proc}
					if top := profileTop(cfg, caseRun); top != "" {
						mr.res.caseProfiles = append(mr.res.caseProfiles, caseProfile{c: c, top: top})
					}
				}
			}
		}
	}
	return out, nil
}

// caseProfile is the top of a mode's CPU profile during a case.
type caseProfile struct {
	c   benchCase
	top string
}

// paired is, round by round, f of mode m minus f of mode b in the same
// round (or their ratio), and the median of those.
func (cr *caseResult) paired(b, m string, f func(caseRound) float64, ratio bool) (median float64, each []float64, ok bool) {
	br, mr := cr.rounds[b], cr.rounds[m]
	if len(br) == 0 || len(br) != len(mr) {
		return 0, nil, false
	}
	for i := range mr {
		if ratio {
			if f(br[i]) == 0 {
				return 0, nil, false
			}
			each = append(each, f(mr[i])/f(br[i]))
		} else {
			each = append(each, f(mr[i])-f(br[i]))
		}
	}
	return upperMedian(append([]float64(nil), each...)), each, true
}

// median of f over a mode's rounds.
func (cr *caseResult) median(mode string, f func(caseRound) float64) float64 {
	rs := cr.rounds[mode]
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return upperMedian(v)
}

func (cr *caseResult) failures(mode string) (errs, streams, complete int, first string) {
	for _, r := range cr.rounds[mode] {
		errs += r.errors
		streams += r.streams
		complete += r.complete
		if first == "" {
			first = r.firstErr
		}
	}
	return
}

// casesMarkdown is issue 17's table: per case, each router mode against rp,
// each figure the median over rounds of the difference (or ratio) within a
// round.
func (r *results) casesMarkdown(b *strings.Builder) {
	if len(r.cases) == 0 {
		return
	}
	const base = "rp"
	var subs []string
	for _, m := range r.modes {
		if m.name != base && (strings.HasPrefix(m.name, "router") || strings.HasPrefix(m.name, "rp")) {
			subs = append(subs, m.name)
		}
	}
	if r.mode(base) == nil || len(subs) == 0 {
		fmt.Fprintf(b, "\n### Cases\n\nThe cases need mode rp and a router mode.\n")
		return
	}
	for _, sub := range subs {
		r.casesTables(b, base, sub)
	}
	for _, cr := range r.cases {
		for _, mode := range append([]string{base}, subs...) {
			errs, streams, complete, first := cr.failures(mode)
			if errs > 0 || complete != streams {
				fmt.Fprintf(b, "\n%s, %s: %d failed requests, %d of %d streams complete; first error: %s\n",
					cr.c, mode, errs, complete, streams, first)
			}
		}
	}
	for _, m := range r.modes {
		for _, p := range m.caseProfiles {
			fmt.Fprintf(b, "\n#### CPU profile of %s, case %s (last round)\n\n```\n%s```\n", m.label, p.c, p.top)
		}
	}
}

// casesGenNote says, under the cases' table, how the requests were sent.
var casesGenNote = map[string]string{
	"go": "The requests came from Go's HTTP client (-cases-loadgen go), which sends a large body in pieces: " +
		"a first write of 4 KiB, the headers and the body's start, then the rest.",
	"go-apart": "The requests came from Go's HTTP client (-cases-loadgen go-apart) with the body hidden from it as a stream: " +
		"it sends the headers in a write of their own, then the body.",
	"go-onewrite": "The requests came from Go's HTTP client (-cases-loadgen go-onewrite) with a write buffer that holds " +
		"the largest request: each request in one write, as wrk sends it.",
	"wrk": "The requests came from wrk (-cases-loadgen wrk), each in one write; wrk measures no first event.",
}

// casesTables writes the cases' tables of mode sub against mode base.
func (r *results) casesTables(b *strings.Builder, base, sub string) {
	fmt.Fprintf(b, "\n### Cases: %s minus %s, paired by round\n\n", sub, base)
	fmt.Fprintf(b, "Each case is a closed loop of one request kind at a fixed concurrency, %s per mode and round, %d rounds, "+
		"%s. Each difference or ratio is taken within a round and the table gives "+
		"the median over rounds (the upper one of an even number); the per-round values follow in brackets. "+
		"CPU is Caddy's (/proc/PID/stat) per request; p50 is to the last byte, first event is streams' first content chunk, "+
		"last event their data: [DONE] (what a stream's p50 adds after it is the response's end: the router's "+
		"settling, then the chunked body's terminator). %s\n\n",
		r.cfg.duration, r.cfg.rounds, casesBlockNote(r.cfg), casesGenNote[r.cfg.casesGen])
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	cpu := func(x caseRound) float64 { return x.cpuPerReqUS }
	p50 := func(x caseRound) float64 { return us(x.p50) }
	ttft := func(x caseRound) float64 { return us(x.ttft50) }
	done := func(x caseRound) float64 { return us(x.done50) }
	rps := func(x caseRound) float64 { return x.rps }
	each := func(v []float64, f string) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf(f, x)
		}
		return strings.Join(s, " ")
	}
	sysR := func(x caseRound) float64 { return x.sys[0] }
	sysW := func(x caseRound) float64 { return x.sys[1] }
	b.WriteString(strings.ReplaceAll("| case | CPU/req rp, router µs | CPU/req router - rp µs | p50 rp, router µs | p50 router - rp µs | first event router - rp µs | last event router - rp µs | throughput rp, router /s | throughput ratio | Caddy's reads, writes per request: rp; router |\n", "router", sub))
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cr := range r.cases {
		dc, dcs, _ := cr.paired(base, sub, cpu, false)
		dp, dps, _ := cr.paired(base, sub, p50, false)
		rr, rrs, _ := cr.paired(base, sub, rps, true)
		first, last := "–", "–"
		if cr.c.kind.stream() && r.cfg.casesGen != "wrk" {
			dt, dts, _ := cr.paired(base, sub, ttft, false)
			first = fmt.Sprintf("%+.0f [%s]", dt, each(dts, "%+.0f"))
			dd, dds, _ := cr.paired(base, sub, done, false)
			last = fmt.Sprintf("%+.0f [%s]", dd, each(dds, "%+.0f"))
		}
		fmt.Fprintf(b, "| %s | %.1f, %.1f | **%+.1f** [%s] | %.0f, %.0f | **%+.0f** [%s] | %s | %s | %.0f, %.0f | **%.2f** [%s] | %.1f, %.1f; %.1f, %.1f |\n",
			cr.c, cr.median(base, cpu), cr.median(sub, cpu), dc, each(dcs, "%+.1f"),
			cr.median(base, p50), cr.median(sub, p50), dp, each(dps, "%+.0f"), first, last,
			cr.median(base, rps), cr.median(sub, rps), rr, each(rrs, "%.2f"),
			cr.median(base, sysR), cr.median(base, sysW), cr.median(sub, sysR), cr.median(sub, sysW))
	}
	// Where the difference goes: at one connection most of a request's CPU
	// is the kernel's, waking the process up and moving the bytes.
	sysCPU := func(x caseRound) float64 { return x.sysCPUPerReqUS }
	switches := func(x caseRound) float64 { return x.switches }
	b.WriteString("\nThe same rounds, Caddy's system CPU time (/proc/PID/stat stime) and its threads' context switches " +
		"(voluntary and involuntary), per request:\n\n")
	b.WriteString(strings.ReplaceAll("| case | system CPU/req rp, router µs | system CPU router - rp µs | context switches/req rp, router | router - rp |\n", "router", sub))
	b.WriteString("|---|---:|---:|---:|---:|\n")
	for _, cr := range r.cases {
		ds, dss, _ := cr.paired(base, sub, sysCPU, false)
		dw, dws, _ := cr.paired(base, sub, switches, false)
		fmt.Fprintf(b, "| %s | %.1f, %.1f | **%+.1f** [%s] | %.2f, %.2f | **%+.2f** [%s] |\n",
			cr.c, cr.median(base, sysCPU), cr.median(sub, sysCPU), ds, each(dss, "%+.1f"),
			cr.median(base, switches), cr.median(sub, switches), dw, each(dws, "%+.2f"))
	}
}
