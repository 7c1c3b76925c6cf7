package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one request as the client saw it.
type sample struct {
	kind     kind
	lat      time.Duration // from the (scheduled) start to the last byte of the body
	ttft     time.Duration // streams: to the first event with content
	done     time.Duration // streams: to the data: [DONE] event
	lag      time.Duration // open loop: how late the request left against its schedule
	ok       bool          // 200 and a complete answer
	complete bool          // streams: [DONE] seen and no error event
	err      string
}

// newClient is the load generator's HTTP/1.1 client: keep-alive, a pool
// large enough never to redial under the benchmark's concurrency, no
// compression.
func newClient(maxConns int) *http.Client {
	return &http.Client{Transport: newTransport(maxConns)}
}

// newTransport is newClient's transport.
func newTransport(maxConns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     2 * time.Minute,
		DisableCompression:  true,
	}
}

// clientFor is the client of a closed loop sending m: newClient's, except
// that with m.oneWrite its write buffer holds the largest request whole.
// Go's transport writes a request through that buffer and flushes it once
// the body is in, so each request leaves in one write, as wrk sends it;
// with the default 4 KiB buffer a 32 KiB request leaves in two.
func clientFor(m *mix, maxConns int) *http.Client {
	t := newTransport(maxConns)
	if m.oneWrite {
		largest := 0
		for _, b := range m.bodies {
			largest = max(largest, len(b))
		}
		t.WriteBufferSize = largest + requestHeadRoom
	}
	return &http.Client{Transport: t}
}

// requestHeadRoom is room for a request's line and headers, which the
// generator keeps to a few hundred bytes.
const requestHeadRoom = 4 << 10

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

var (
	dataPrefix   = []byte("data: ")
	donePrefix   = []byte("[DONE]")
	contentKey   = []byte(`"content":"`)
	errorKey     = []byte(`"error"`)
	finishedStop = []byte(`"finish_reason":"stop"`)
)

// streamedBody hides a bytes.Reader from Go's transport, which then sends
// the headers on their own, flushed, and the body after them (it does so
// for a body it does not know to be in memory), as a client does whose
// body is a stream or which writes each part of a request separately.
type streamedBody struct{ io.Reader }

// do sends one request of kind k and reads the whole answer. Latencies are
// measured from start, which for the open loop is the scheduled time.
func do(ctx context.Context, c *http.Client, url string, m *mix, k kind, start time.Time) sample {
	s := sample{kind: k}
	var body io.Reader = bytes.NewReader(m.bodies[k])
	if m.bodyApart {
		body = streamedBody{body}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		s.err = err.Error()
		return s
	}
	req.ContentLength = int64(len(m.bodies[k]))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		s.err = err.Error()
		s.lat = time.Since(start)
		return s
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		drain(resp.Body)
		s.err = fmt.Sprintf("status %d", resp.StatusCode)
		s.lat = time.Since(start)
		return s
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(resp.Body)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	if !k.stream() {
		var buf bytes.Buffer
		_, err := buf.ReadFrom(br)
		s.lat = time.Since(start)
		switch {
		case err != nil:
			s.err = err.Error()
		case !bytes.Contains(buf.Bytes(), finishedStop):
			s.err = "answer without finish_reason stop"
		default:
			s.ok = true
		}
		return s
	}
	// SSE: look at each "data: " line; a line longer than the buffer is
	// read in pieces, and only its first piece is a line start.
	atStart, sawDone, sawError := true, false, false
	for {
		line, err := br.ReadSlice('\n')
		if atStart && bytes.HasPrefix(line, dataPrefix) {
			data := line[len(dataPrefix):]
			if s.ttft == 0 && hasContent(data) {
				s.ttft = time.Since(start)
			}
			if bytes.HasPrefix(data, donePrefix) {
				if !sawDone {
					s.done = time.Since(start)
				}
				sawDone = true
			} else if bytes.Contains(data, errorKey) {
				sawError = true
			}
		}
		atStart = err == nil
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err = err.Error()
			break
		}
	}
	s.lat = time.Since(start)
	s.complete = sawDone && !sawError && s.err == ""
	s.ok = s.complete && s.ttft > 0
	if !s.ok && s.err == "" {
		s.err = "incomplete stream"
	}
	return s
}

// hasContent reports whether an SSE data payload is a chunk with non-empty
// delta content (the role chunk's "content":"" does not count).
func hasContent(data []byte) bool {
	i := bytes.Index(data, contentKey)
	return i >= 0 && i+len(contentKey) < len(data) && data[i+len(contentKey)] != '"'
}

// serial sends n requests to each url, one request at a time overall, each
// url on its own connection. The urls take turns in blocks of serialBlock
// requests, so that whatever else the machine does at some moment falls on
// every mode alike (the differences between modes are tens of
// microseconds), while each Caddy stays warm in the cache within a block
// (the Caddy processes share core 0: alternating request by request made
// every request start from caches the other process had just evicted).
func serial(ctx context.Context, urls []string, m *mix, n int) [][]sample {
	clients := make([]*http.Client, len(urls))
	out := make([][]sample, len(urls))
	for j := range urls {
		clients[j] = newClient(1)
		defer clients[j].CloseIdleConnections()
		out[j] = make([]sample, 0, n)
	}
	for first := 0; first < n && ctx.Err() == nil; first += serialBlock {
		for j, url := range urls {
			for i := first; i < min(first+serialBlock, n) && ctx.Err() == nil; i++ {
				out[j] = append(out[j], do(ctx, clients[j], url, m, m.kindOf(i), time.Now()))
			}
		}
	}
	return out
}

// serialBlock is how many serial requests a mode sends before the next mode
// takes its turn: a multiple of the four kinds.
const serialBlock = 100

// closedLoop runs conns workers, each sending its next request as soon as
// the previous one is answered, for d. It is the fallback when wrk is not
// installed.
func closedLoop(ctx context.Context, url string, m *mix, conns int, d time.Duration) ([]sample, time.Duration) {
	c := clientFor(m, conns)
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				s := do(ctx, c, url, m, m.kindOf(i), time.Now())
				if ctx.Err() != nil && !s.ok {
					break // cut off by the end of the run, not a failure
				}
				mine = append(mine, s)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start)
}

// openLoop sends rate requests per second for d on a fixed schedule: request
// i is due at start + i/rate and is sent then whether or not earlier
// requests were answered, each from its own goroutine, so a slow server
// cannot slow the generator down (no coordinated omission).
//
// Latency is measured from when the request is sent, as vegeta does; how late
// the send was against the schedule is kept as lag. The pacer sleeps with Go
// timers, which wake up to about 1 ms late when the process is idle (the
// netpoller waits in whole milliseconds), so at 2000 requests/s requests
// leave in pairs; measuring from the schedule would add that artefact of the
// generator, the same for every mode, to every latency. A pacer on a locked
// OS thread sleeping with nanosleep(2) was tried: precise on a quiet core,
// but it stalled for hundreds of milliseconds when another process shared
// the core.
func openLoop(ctx context.Context, c *http.Client, url string, m *mix, rate int, d time.Duration) []sample {
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	out := make([]sample, n)
	var wg sync.WaitGroup
	inflight := make(chan struct{}, maxInflight)
	start := time.Now().Add(2 * time.Millisecond)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		select {
		case inflight <- struct{}{}:
		default:
			out[i] = sample{kind: m.kindOf(i), err: fmt.Sprintf("not sent: %d requests already in flight (the server fell behind)", maxInflight)}
			continue
		}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer func() { <-inflight; wg.Done() }()
			sent := time.Now()
			s := do(ctx, c, url, m, m.kindOf(i), sent)
			s.lag = sent.Sub(due)
			out[i] = s
		}(i, due)
	}
	wg.Wait()
	// Requests never sent (the context ended) have no latency; drop them.
	return slices.DeleteFunc(out, func(s sample) bool { return s.lat == 0 && s.err == "" })
}

// maxInflight bounds the open loop's outstanding requests, so that a server
// that falls far behind makes failures instead of exhausting file
// descriptors.
const maxInflight = 3000

// dist is a latency distribution.
type dist []time.Duration

func (d dist) sorted() dist {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

// pct is the q-quantile (0-1) of a sorted distribution, nearest rank.
func (d dist) pct(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// summary is what a phase reports for one mode.
type summary struct {
	n, errs           int
	streams, complete int
	lat, ttft, lag    dist // sorted
	done              dist // sorted: streams' time to their [DONE] event
	byKind            [numKinds]dist
	firstErr          string
	wall              time.Duration
	noise             float64 // other processes' CPU during the phase, in cores
}

func summarize(samples []sample, wall time.Duration) summary {
	var s summary
	s.wall = wall
	for _, x := range samples {
		s.n++
		if x.kind.stream() {
			s.streams++
			if x.complete {
				s.complete++
			}
			if x.ttft > 0 {
				s.ttft = append(s.ttft, x.ttft)
			}
			if x.done > 0 {
				s.done = append(s.done, x.done)
			}
		}
		if !x.ok {
			s.errs++
			if s.firstErr == "" {
				s.firstErr = x.err
			}
			continue
		}
		s.lat = append(s.lat, x.lat)
		s.lag = append(s.lag, x.lag)
		s.byKind[x.kind] = append(s.byKind[x.kind], x.lat)
	}
	s.lat, s.ttft, s.lag, s.done = s.lat.sorted(), s.ttft.sorted(), s.lag.sorted(), s.done.sorted()
	for k := range s.byKind {
		s.byKind[k] = s.byKind[k].sorted()
	}
	return s
}
