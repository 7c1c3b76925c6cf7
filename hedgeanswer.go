package llmrouter

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// A hedged request's attempts always stream from the vendor, since only a
// stream can be cancelled mid-generation. When the client asked for one
// JSON answer, the legs send the request as a stream (streamedRequest) and
// the winner's stream is assembled into the chat.completion the vendor
// would have answered whole (assembleAnswer, with meter.Assembler).

// streamedRequest is a non-streamed chat request as a hedge's legs send it:
// the client's body with "stream":true and stream_options.include_usage,
// so that the answer is metered whatever the vendor's kind.
type streamedRequest struct {
	body   []byte
	layout vendors.Layout
}

// newStreamedRequest returns body, a JSON object, with its "stream" and
// "stream_options" members (all of them: a duplicate must not let the
// vendor read another value) replaced by a stream asking for its usage. It
// copies: the client's body is the next attempts' too.
func newStreamedRequest(body []byte) (*streamedRequest, error) {
	const head = `"stream":true,"stream_options":{"include_usage":true}`
	var kept [][2]int
	open, err := jsonwalk.Object(body, func(m jsonwalk.Member) {
		if name := string(m.Name()); name != "stream" && name != "stream_options" {
			kept = append(kept, [2]int{m.KeyStart, m.ValueEnd})
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(head)+1)
	out = append(append(out, body[:open+1]...), head...)
	for _, span := range kept {
		out = append(append(out, ','), body[span[0]:span[1]]...)
	}
	out = append(out, '}')
	layout, err := vendors.LayoutOf(out)
	if err != nil {
		return nil, err
	}
	return &streamedRequest{body: out, layout: layout}, nil
}

// assembleAnswer makes the committed stream of a hedge's winner the one JSON
// answer its client asked for: it reads the rest of the stream (the loser is
// already cancelled), assembles it, and hands the client the chat.completion
// with its length. A stream that fails before it is complete is, for a
// client that asked for a whole answer, what a JSON body that breaks off is:
// a failed attempt, recorded and absorbed, and reverse_proxy fails over.
func (t *attemptTransport) assembleAnswer(res *legResult) error {
	mb, resp := res.o.answered, res.resp
	if !mb.streaming {
		return nil // a vendor that answered whole anyway
	}
	asm := meter.NewAssembler(maxCommitJSONBody)
	bufp := readBufPool.Get().(*[]byte)
	_, _ = io.CopyBuffer(asm, mb, *bufp) // mb ends the stream itself, failed or not
	readBufPool.Put(bufp)
	answer, err := asm.Answer()
	if err == nil && mb.completed() {
		mb.timer.stop()
		mb.pending = answer // after everything else: Read hands it out, then io.EOF
		resp.Header.Set("Content-Type", "application/json")
		resp.Header.Set("Content-Length", strconv.Itoa(len(answer)))
		resp.Header.Del("Content-Encoding")
		resp.ContentLength = int64(len(answer))
		return nil
	}

	o, vendor := &res.o, res.rt.vendor
	if mb.clientCx.Err() == nil {
		reason, msg := vendors.ReasonStreamBroken, "the stream broke off before it was complete"
		switch {
		case mb.tr.Err() != nil:
			reason, msg = vendors.ReasonStreamError, vendor.Redact(vendorErrorText(mb.tr.Err()))
		case mb.timer.idleExpired():
			msg = fmt.Sprintf("the stream sent nothing for %s before it was complete", mb.timer.idle)
		case errors.Is(err, meter.ErrUnreadable) || errors.Is(err, meter.ErrTooLarge):
			reason, msg = vendors.ReasonBadResponse, err.Error()
		}
		t.recordFailure(o, res.rt, http.StatusOK, reason, msg, selector.Failure{Kind: selector.FailureServer})
		err = noCommitError{vendor.ID(), reason, msg}
	} else {
		err = mb.clientCx.Err() // the client left: no failover, no blame
	}
	o.absorb = mb.clientCx.Err() == nil
	o.used = mb.abandon()
	o.answered = nil
	return err
}
