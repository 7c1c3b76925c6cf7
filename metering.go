package llmrouter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// Reasons for giving up an attempt that answered 200 but had nothing to say.
const (
	reasonStreamError    = "stream_error"     // an error event before the first token
	reasonNoTokens       = "empty_completion" // zero completion tokens, or an error finish reason
	reasonStreamBroken   = "stream_broken"    // the stream failed or ended before the first token
	reasonBadResponse    = "bad_response"     // a body that is not the JSON it claims to be
	maxCommitJSONBody    = 64 << 20           // non-streaming answers larger than this pass uninspected
	commitReadBufferSize = 32 << 10
)

// noCommitError is an attempt that answered 200 but failed before its first
// token. It is a transport error for reverse_proxy, so the first retry
// matcher sends the request on to the next vendor; it does not wrap
// context.Canceled, which reverse_proxy would take for the client leaving.
type noCommitError struct {
	vendor, reason, message string
}

func (e noCommitError) Error() string {
	return fmt.Sprintf("vendor %s: %s: %s", e.vendor, e.reason, e.message)
}

// commit holds a successful response back until its first content token, the
// commit point: until then, anything that goes wrong is a failover, and the
// client has seen nothing. A streamed response is read event by event until
// the first token; a JSON response is read whole and checked. On commit the
// response goes to the client with what was read so far in front of the rest.
func (t *attemptTransport) commit(st *requestState, rt *route, tr vendors.Translator, resp *http.Response,
	start time.Time, timer *attemptTimer, cancel context.CancelFunc, clientCtx context.Context) (*http.Response, error) {
	mb := &meteredBody{
		body:     resp.Body,
		tr:       tr,
		sel:      t.router.selector,
		st:       st,
		route:    rt,
		start:    start,
		timer:    timer,
		cancel:   cancel,
		clientCx: clientCtx,
	}
	var err error
	if isEventStream(resp.Header) {
		err = mb.awaitFirstToken()
	} else {
		err = mb.readWhole(resp.ContentLength)
	}
	if err != nil {
		resp.Body.Close()
		timer.stop()
		cancel()
		if clientCtx.Err() != nil {
			return nil, clientCtx.Err() // the client left: no failover, no blame
		}
		if timer.expired() {
			err = firstByteTimeoutError{vendor: rt.vendor.ID(), after: st.ttftTimeout}
			t.recordFailure(st, rt, http.StatusOK, reasonTimeout, transportMessage(err),
				selector.Failure{Kind: selector.FailureServer})
		} else if nc, ok := err.(noCommitError); ok {
			t.recordFailure(st, rt, http.StatusOK, nc.reason, nc.message, selector.Failure{Kind: selector.FailureServer})
		}
		st.absorb(rt, mb.usage())
		mb.release()
		return nil, err
	}
	if mb.streaming {
		timer.startIdle(time.Duration(t.router.StreamIdleTimeout))
	} else {
		timer.stop()
	}
	st.served, st.ttft = rt, mb.ttft
	rt.ttftSeries().Observe(mb.ttft.Seconds())
	if st.clientHeader != nil {
		// Straight into the client's response: reverse_proxy copies the
		// vendor's headers next to them, and it would also turn each header
		// of resp into a placeholder, which costs allocations per request.
		setRouteHeaders(st.clientHeader, st, rt)
	} else {
		setRouteHeaders(resp.Header, st, rt)
	}
	resp.Body = mb
	return resp, nil
}

// isEventStream reports whether a response is an SSE stream: its media type,
// before any parameter, is text/event-stream in any case. (mime.ParseMediaType
// would allocate a map of parameters for every response.)
func isEventStream(h http.Header) bool {
	const sse = "text/event-stream"
	ct := strings.TrimLeft(h.Get("Content-Type"), " \t")
	if len(ct) < len(sse) || !strings.EqualFold(ct[:len(sse)], sse) {
		return false
	}
	rest := strings.TrimLeft(ct[len(sse):], " \t")
	return rest == "" || rest[0] == ';'
}

// meteredBody is a committed vendor response on its way to the client. It
// reads the stream event by event (so the proxy flushes per event), meters the
// usage, turns a vendor failure after commit into an explicit SSE error event
// (never a silent clean close), and reports the attempt when the proxy closes
// it, which reverse_proxy does even when the client aborts.
type meteredBody struct {
	body     io.ReadCloser
	tr       vendors.Translator // reads the answer into the client's API, and meters it
	sel      *selector.Selector
	st       *requestState
	route    *route
	start    time.Time
	timer    *attemptTimer // first byte, then stream idle
	cancel   context.CancelFunc
	clientCx context.Context

	streaming bool         // an SSE answer, read event by event; else a JSON body, read whole
	json      meter.Result // the JSON body's reading
	buf       []byte       // vendor read buffer (streams)
	bufp      *[]byte      // buf's pool handle
	pending   []byte       // bytes ready for the client
	ttft      time.Duration

	vendorDone bool  // the vendor's body ended (EOF or error)
	vendorErr  error // why, if not EOF
	finished   bool  // everything, including any error event, was handed out
	closed     bool
}

// awaitFirstToken reads the stream until its first content token. Keep-alive
// comments and the role-only first chunk do not count.
func (b *meteredBody) awaitFirstToken() error {
	b.streaming = true
	b.bufp = readBufPool.Get().(*[]byte)
	b.buf = *b.bufp
	vendor := b.route.vendor.ID()
	for {
		n, err := b.body.Read(b.buf)
		if ferr := b.tr.Feed(b.buf[:n], err == io.EOF); ferr != nil {
			err = ferr
		}
		if e := b.tr.Err(); e != nil {
			return noCommitError{vendor, reasonStreamError, b.route.vendor.Redact(vendorErrorText(e))}
		}
		if b.tr.Committed() {
			b.ttft = time.Since(b.start)
			b.pending = b.tr.Output()
			if err != nil {
				b.vendorDone = true
				if err != io.EOF {
					b.vendorErr = err
				}
			}
			return nil
		}
		if err == io.EOF {
			if b.tr.Done() {
				return noCommitError{vendor, reasonNoTokens, "the stream completed without any content"}
			}
			return noCommitError{vendor, reasonStreamBroken, "the stream ended before the first token"}
		}
		if err != nil {
			return noCommitError{vendor, reasonStreamBroken, "the stream failed before the first token"}
		}
	}
}

// readWhole reads a JSON answer and decides whether it is worth committing.
func (b *meteredBody) readWhole(contentLength int64) error {
	vendor := b.route.vendor.ID()
	if contentLength > maxCommitJSONBody {
		// Too large to hold: pass it on uninspected.
		b.ttft = time.Since(b.start)
		b.json.Usage = meter.Usage{PromptTokens: b.st.promptTokens, Estimated: true}
		return nil
	}
	// Into the pooled read buffer, which an answer of up to 32 KiB fits
	// without an allocation; a larger one grows a copy.
	b.bufp = readBufPool.Get().(*[]byte)
	body, err := readAllInto((*b.bufp)[:0], io.LimitReader(b.body, maxCommitJSONBody))
	if err != nil {
		return noCommitError{vendor, reasonStreamBroken, "the response failed before it was complete"}
	}
	b.ttft = time.Since(b.start)
	body, b.json, err = b.tr.Answer(body)
	if err != nil {
		return noCommitError{vendor, reasonStreamBroken, "the response failed before it was complete"}
	}
	switch {
	case b.json.Err != nil && b.json.Err.Type == "invalid_response":
		return noCommitError{vendor, reasonBadResponse, "the response is not valid JSON"}
	case b.json.Err != nil:
		return noCommitError{vendor, reasonStreamError, b.route.vendor.Redact(vendorErrorText(b.json.Err))}
	case b.st.endpoint == vendors.Embeddings:
	case b.json.FinishReason == "error" || (!b.json.HasContent && b.json.Usage.CompletionTokens == 0):
		return noCommitError{vendor, reasonNoTokens, "the answer has no completion tokens"}
	}
	b.pending = body
	b.vendorDone = true
	return nil
}

// readAllInto is io.ReadAll appending to buf.
func readAllInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow, as append does
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// Read hands the client the committed response, event by event.
func (b *meteredBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		switch {
		case b.finished:
			return 0, io.EOF
		case !b.streaming:
			b.finished = true
		case b.vendorDone:
			b.finished = true
			b.tr.End()
			b.pending = b.tr.Output()
			if !b.tr.Done() && b.tr.Err() == nil && b.clientCx.Err() == nil {
				// Never a silent clean close: the client must know the
				// answer is incomplete.
				msg := fmt.Sprintf("vendor %s stopped the stream before it was complete", b.route.vendor.ID())
				if b.timer.idleExpired() {
					msg = fmt.Sprintf("vendor %s sent nothing for %s", b.route.vendor.ID(), b.timer.idle)
				}
				b.pending = append(append([]byte(nil), b.pending...), meter.ErrorEvent(msg, "stream_interrupted")...)
			}
		default:
			n, err := b.body.Read(b.buf)
			if n > 0 {
				b.timer.read()
			}
			if ferr := b.tr.Feed(b.buf[:n], err == io.EOF); ferr != nil {
				err = ferr
			}
			b.pending = b.tr.Output()
			if err != nil {
				b.vendorDone = true
				if err != io.EOF {
					b.vendorErr = err
				}
			}
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// completed reports whether the vendor finished its answer properly.
func (b *meteredBody) completed() bool {
	if !b.streaming {
		return true
	}
	return b.tr.Done() && b.tr.Err() == nil && b.vendorErr == nil
}

// usage is what the attempt consumed, as far as it got.
func (b *meteredBody) usage() meter.Usage {
	if b.streaming {
		return b.tr.Usage()
	}
	return b.json.Usage
}

// Close reports the attempt to the request and the selector, and releases
// the vendor connection.
func (b *meteredBody) Close() error {
	err := b.body.Close()
	if b.closed {
		return err
	}
	b.closed = true
	b.timer.stop()
	b.cancel()
	now := time.Now()
	st := b.st
	st.usage = b.usage()
	st.completed = b.completed()
	switch {
	case st.completed:
		b.sel.ObserveSuccess(b.route.stats, st.bucket, selector.Sample{
			Stream:           b.streaming,
			FirstToken:       b.ttft,
			Total:            now.Sub(b.start),
			CompletionTokens: st.usage.CompletionTokens,
		}, now)
	case b.clientCx.Err() != nil:
		// The client left: that says nothing about the vendor.
	default:
		b.sel.ObserveFailure(b.route.stats, selector.Failure{Kind: selector.FailureServer}, now)
	}
	b.release()
	return err
}

// Read buffers are reused across requests.
var readBufPool = sync.Pool{New: func() any { b := make([]byte, commitReadBufferSize); return &b }}

// release returns the translator and the pooled buffer; b must not be read
// after.
func (b *meteredBody) release() {
	b.pending = nil // it may be a view of either
	if b.tr != nil {
		b.tr.Release()
		b.tr = nil
	}
	if b.bufp != nil {
		readBufPool.Put(b.bufp)
		b.bufp, b.buf = nil, nil
	}
}

// vendorErrorText renders an error the vendor reported inside a 200 response.
func vendorErrorText(e *meter.VendorError) string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Code != "":
		return "error " + e.Code
	default:
		return "error " + strconv.Quote(e.Type)
	}
}
