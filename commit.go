package llmrouter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// Bounds of what the commit point reads.
const (
	maxCommitJSONBody    = 64 << 20 // non-streaming answers larger than this pass uninspected
	commitReadBufferSize = 32 << 10
)

// isEventStream reports whether a response is an SSE stream: its media type,
// before any parameter, is text/event-stream in any case. (mime.ParseMediaType
// would allocate a map of parameters for every response.)
func isEventStream(h http.Header) bool {
	const sse = "text/event-stream"
	ct := strings.TrimLeft(headerValue(h, "Content-Type"), " \t")
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
	resp     *http.Response // the response b is the body of, once committed

	streaming bool // an SSE answer, read event by event; else a JSON body, read whole
	// uninspected is a JSON answer too large to hold (maxCommitJSONBody):
	// it passes to the client as the vendor sends it.
	uninspected bool
	json        meter.Result // the JSON body's reading
	buf         []byte       // vendor read buffer (streams)
	bufp        *[]byte      // buf's pool handle
	pending     []byte       // bytes ready for the client
	ttft        time.Duration

	vendorDone bool  // the vendor's body ended (EOF or error)
	vendorErr  error // why, if not EOF
	finished   bool  // everything, including any error event, was handed out
	closed     bool
}

// commit reads resp, a successful answer, until its first content token, the
// commit point: until then, anything that goes wrong is a failover, and the
// client has seen nothing. A streamed answer is read event by event until
// the first token; a JSON answer is read whole and checked. On commit resp's
// body becomes b, which hands the client what was read so far in front of
// the rest, and the stream's idle timer starts. Otherwise the error says
// why: a noCommitError, a firstByteTimeoutError, or the client's context
// error when it left.
func (b *meteredBody) commit(resp *http.Response, streamIdle time.Duration) error {
	var err error
	if isEventStream(resp.Header) {
		err = b.awaitFirstToken()
	} else {
		err = b.readWhole(resp.ContentLength)
	}
	if err != nil {
		resp.Body.Close()
		b.timer.stop()
		b.cancel()
		switch {
		case b.clientCx.Err() != nil:
			return b.clientCx.Err() // the client left: no failover, no blame
		case b.timer.expired():
			return firstByteTimeoutError{vendor: b.route.vendor.ID(), after: b.st.plan.ttftTimeout}
		}
		return err
	}
	if b.streaming {
		b.timer.startIdle(streamIdle)
	} else {
		b.timer.stop()
	}
	resp.Body = b
	return nil
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
			return noCommitError{vendor, vendors.ReasonStreamError, b.route.vendor.Redact(vendorErrorText(e))}
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
				return noCommitError{vendor, vendors.ReasonEmptyCompletion, "the stream completed without any content"}
			}
			return noCommitError{vendor, vendors.ReasonStreamBroken, "the stream ended before the first token"}
		}
		if err != nil {
			return noCommitError{vendor, vendors.ReasonStreamBroken, "the stream failed before the first token"}
		}
	}
}

// readWhole reads a JSON answer and decides whether it is worth committing.
func (b *meteredBody) readWhole(contentLength int64) error {
	vendor := b.route.vendor.ID()
	if contentLength > maxCommitJSONBody {
		// Too large to hold: pass it on uninspected.
		b.ttft = time.Since(b.start)
		b.json.Usage = billing.Usage{PromptTokens: b.st.plan.promptTokens, Estimated: true}
		b.uninspected = true
		return nil
	}
	// Into the pooled read buffer, which an answer of up to 32 KiB fits
	// without an allocation; a larger one grows a copy.
	b.bufp = readBufPool.Get().(*[]byte)
	body, err := readAllInto((*b.bufp)[:0], io.LimitReader(b.body, maxCommitJSONBody))
	if err != nil {
		return noCommitError{vendor, vendors.ReasonStreamBroken, "the response failed before it was complete"}
	}
	b.ttft = time.Since(b.start)
	body, b.json, err = b.tr.Answer(body)
	if err != nil {
		return noCommitError{vendor, vendors.ReasonStreamBroken, "the response failed before it was complete"}
	}
	switch {
	case b.json.Err != nil && b.json.Err.Type == "invalid_response":
		return noCommitError{vendor, vendors.ReasonBadResponse, "the response is not valid JSON"}
	case b.json.Err != nil:
		return noCommitError{vendor, vendors.ReasonStreamError, b.route.vendor.Redact(vendorErrorText(b.json.Err))}
	case b.st.plan.endpoint == vendors.Embeddings:
	case b.json.FinishReason == "error" || (!b.json.HasContent && b.json.Usage.CompletionTokens == 0):
		return noCommitError{vendor, vendors.ReasonEmptyCompletion, "the answer has no completion tokens"}
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

// Read hands the client the committed response, event by event, and its
// last bytes with io.EOF.
func (b *meteredBody) Read(p []byte) (int, error) {
	if b.uninspected {
		return b.body.Read(p)
	}
	for len(b.pending) == 0 {
		switch {
		case b.finished:
			return 0, io.EOF
		case !b.streaming:
			b.finished = true
		case b.vendorDone:
			b.end()
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
	if len(b.pending) == 0 && b.vendorDone {
		// Nothing more can come: say so with the last bytes (one read
		// less for the proxy), and let them leave with the response's end
		// (clientWriter).
		if b.streaming {
			b.end()
		} else {
			b.finished = true
		}
		if len(b.pending) == 0 {
			b.st.client.holdLastFlush()
			return n, io.EOF
		}
	}
	return n, nil
}

// end finishes a stream whose vendor body has ended: the translator's last
// output, or the error event that says the answer broke off.
func (b *meteredBody) end() {
	if b.finished {
		return
	}
	b.finished = true
	b.tr.End()
	if !b.tr.Done() && b.tr.Err() == nil && b.clientCx.Err() == nil {
		// Never a silent clean close: the client must know the answer is
		// incomplete, in its API's terms.
		msg := fmt.Sprintf("vendor %s stopped the stream before it was complete", b.route.vendor.ID())
		if b.timer.idleExpired() {
			msg = fmt.Sprintf("vendor %s sent nothing for %s", b.route.vendor.ID(), b.timer.idle)
		}
		b.tr.Interrupt(msg, codeStreamInterrupted)
	}
	b.pending = b.tr.Output()
}

// completed reports whether the vendor finished its answer properly.
func (b *meteredBody) completed() bool {
	if !b.streaming {
		return true
	}
	return b.tr.Done() && b.tr.Err() == nil && b.vendorErr == nil
}

// usage is what the attempt consumed, as far as it got.
func (b *meteredBody) usage() billing.Usage {
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
	st.result.usage = b.usage()
	st.result.completed = b.completed()
	switch {
	case st.result.completed:
		b.sel.ObserveSuccess(b.route.stats, st.plan.bucket, selector.Sample{
			Stream:           b.streaming,
			FirstToken:       b.ttft,
			Total:            now.Sub(b.start),
			CompletionTokens: st.result.usage.CompletionTokens,
		}, now)
	case b.clientCx.Err() != nil:
		// The client left: that says nothing about the vendor.
	default:
		b.sel.ObserveFailure(b.route.stats, selector.Failure{Kind: selector.FailureServer}, now)
	}
	b.release()
	return err
}

// abandon closes a committed answer that will not reach the client (a
// hedge's loser) and returns what it consumed. Unlike Close it reports
// nothing to the request or the selector: the router stopped it, which
// says nothing about the vendor.
func (b *meteredBody) abandon() billing.Usage {
	b.closed = true
	b.timer.stop()
	b.cancel()
	b.body.Close()
	u := b.usage()
	b.release()
	return u
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

// Interface guards
var _ io.ReadCloser = (*meteredBody)(nil)
