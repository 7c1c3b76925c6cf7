package vendors

import (
	"bytes"
	"net/http"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// The chat bridge speaks a client API that a vendor does not serve itself
// (OpenAI's Responses, say, to Mistral or to Anthropic's Messages) through
// the vendor's chat completions: the client's request is rewritten as a
// chat completions request, which the vendor's own chat Translator sends
// (so a bridged API reaches the native kinds through their existing
// translations), and the chat answer that translator produces is rewritten
// into the client's API.
//
// The inner chat translator stays the meter: the commit point, the usage,
// in-stream errors and completion are its, so failover before the commit,
// metering and zero completion insurance work as they do for chat.
//
// A client API joins the bridge by setting its entry in bridges (in its own
// file's init) to a constructor of its chatBridge; Vendor.Translator then
// bridges it for every vendor whose kind does not serve it natively.

// chatBridge converts one client API to chat completions and back, for one
// attempt (it may keep what the request said, for the answer).
type chatBridge interface {
	// ChatRequest returns the client's body (a.Body) as a chat completions
	// body for a.Model, streamed when a.Stream, asking for the usage chunk.
	// An error means the request cannot be said in chat completions; its
	// message is for the client.
	ChatRequest(a Attempt) (chat []byte, err error)
	// ResponseHeaders adds to a successful answer's header what the client
	// should know of the bridge (what it left out of the request).
	ResponseHeaders(h http.Header)
	// Answer converts a whole chat.completion, whose usage is u, into the
	// client's answer.
	Answer(chat []byte, u billing.Usage) ([]byte, error)
	// NewStream starts the conversion of a chat stream.
	NewStream() bridgeStream
	// ErrorBody converts an OpenAI-shaped error body into the client API's
	// error shape (setting h's Content-Type if it changes).
	ErrorBody(h http.Header, status int, openaiErr []byte) []byte
}

// bridgeStream converts one chat completions stream into the client API's
// events.
type bridgeStream interface {
	// Feed appends to dst the client's events for chatSSE, chat chunk
	// events in any split (the inner translator hands whole events), and
	// returns it. It ignores error events and [DONE]: the end is Finish's.
	Feed(dst, chatSSE []byte) []byte
	// Finish appends the events that end the client's stream, and returns
	// dst: the answer completed, or, when end.Failure is set, failed. It is
	// called once.
	Finish(dst []byte, end StreamEnd) []byte
}

// StreamEnd is how a bridged stream ended.
type StreamEnd struct {
	Usage billing.Usage
	// Failure is nil for an answer that completed; else why it did not.
	Failure *meter.VendorError
}

// bridges holds, per client API that the bridge carries, the constructor of
// its chatBridge for one attempt.
var bridges [numEndpoints]func(v *Vendor, a Attempt) chatBridge

// bridgeTranslator is a Translator for a client API the vendor does not
// speak: chatBridge around the vendor's chat Translator (inner).
type bridgeTranslator struct {
	v     *Vendor
	a     Attempt
	b     chatBridge
	inner Translator // made by Request; nil before
	s     bridgeStream
	out   []byte // the client's events not yet handed out
	ended bool   // Finish was called
}

func newBridgeTranslator(v *Vendor, a Attempt) *bridgeTranslator {
	return &bridgeTranslator{v: v, a: a, b: bridges[a.Endpoint](v, a)}
}

// Request converts the client's request to chat completions and lets the
// vendor's chat translator send it.
func (t *bridgeTranslator) Request(out *http.Request) error {
	chat, err := t.b.ChatRequest(t.a)
	if err != nil {
		return t.v.refused(err)
	}
	ia := t.a
	ia.Endpoint, ia.Body, ia.Layout, ia.ClientWantsUsage = ChatCompletions, chat, Layout{}, false
	inner, err := t.v.Translator(ia)
	if err != nil {
		return err
	}
	if err := inner.Request(out); err != nil {
		inner.Release()
		return err
	}
	t.inner = inner
	return nil
}

// ResponseHeaders: the client's answer has a length known only once
// converted.
func (t *bridgeTranslator) ResponseHeaders(resp *http.Response) {
	t.inner.ResponseHeaders(resp)
	resp.Header.Del("Content-Length")
	resp.Header.Del("Content-Encoding")
	resp.ContentLength = -1
	if t.a.Stream {
		resp.Header.Set("Content-Type", "text/event-stream")
	} else {
		resp.Header.Set("Content-Type", "application/json")
	}
	t.b.ResponseHeaders(resp.Header)
}

// Feed lets the inner translator read the vendor's bytes into chat events,
// then converts them; the stream's end comes when the chat stream's does.
func (t *bridgeTranslator) Feed(p []byte, eof bool) error {
	err := t.inner.Feed(p, eof)
	t.convert()
	return err
}

// convert turns the inner translator's output into the client's events, and
// ends the client's stream when the chat stream completed or failed.
func (t *bridgeTranslator) convert() {
	if t.s == nil {
		t.s = t.b.NewStream()
	}
	t.out = t.s.Feed(t.out, t.inner.Output())
	if t.ended {
		return
	}
	switch e := t.inner.Err(); {
	case e != nil:
		t.ended = true
		t.out = t.s.Finish(t.out, StreamEnd{Usage: t.inner.Usage(), Failure: e})
	case t.inner.Done():
		t.ended = true
		t.out = t.s.Finish(t.out, StreamEnd{Usage: t.inner.Usage()})
	}
}

func (t *bridgeTranslator) Output() []byte {
	b := t.out
	t.out = t.out[:0]
	return b
}

func (t *bridgeTranslator) End() {
	t.inner.End()
	t.convert()
}

func (t *bridgeTranslator) Committed() bool         { return t.inner.Committed() }
func (t *bridgeTranslator) Done() bool              { return t.inner.Done() }
func (t *bridgeTranslator) Err() *meter.VendorError { return t.inner.Err() }
func (t *bridgeTranslator) Usage() billing.Usage    { return t.inner.Usage() }

// Interrupt ends the client's stream as failed.
func (t *bridgeTranslator) Interrupt(msg, code string) {
	if t.ended {
		return
	}
	if t.s == nil {
		t.s = t.b.NewStream()
	}
	t.ended = true
	t.out = t.s.Finish(t.out, StreamEnd{Usage: t.inner.Usage(),
		Failure: &meter.VendorError{Message: msg, Type: "server_error", Code: code}})
}

// Answer reads the whole chat answer through the inner translator, and
// converts it when it is one the router will commit (an error or an empty
// answer goes no further than the meter's reading).
func (t *bridgeTranslator) Answer(body []byte) ([]byte, meter.Result, error) {
	chat, res, err := t.inner.Answer(body)
	if err != nil || res.Err != nil || (!res.HasContent && res.Usage.CompletionTokens == 0) {
		return chat, res, err
	}
	out, err := t.b.Answer(chat, res.Usage)
	return out, res, err
}

// ErrorBody renders the vendor's error as the chat translator does (OpenAI's
// shape, without the key), then in the client's API.
func (t *bridgeTranslator) ErrorBody(h http.Header, status int, body []byte) []byte {
	return t.b.ErrorBody(h, status, t.inner.ErrorBody(h, status, body))
}

func (t *bridgeTranslator) Release() {
	if t.inner != nil {
		t.inner.Release()
		t.inner = nil
	}
}

// Interface guards
var _ Translator = (*bridgeTranslator)(nil)

// chatEvents cuts a chat completions stream into its events' data, for the
// bridges' streams: bytes in any split, each complete event's data (its
// "data:" lines joined) handed to the callback, an unfinished event kept for
// the next bytes. Comments and events without data are skipped.
type chatEvents struct {
	pending []byte
	data    []byte
}

// feed hands each event that p completes to fn; the slice fn gets is valid
// only during the call.
func (c *chatEvents) feed(p []byte, fn func(data []byte)) {
	buf := p
	if len(c.pending) > 0 {
		c.pending = append(c.pending, p...)
		buf = c.pending
	}
	start := 0
	for {
		end, next := eventEnd(buf[start:])
		if end < 0 {
			break
		}
		c.data = c.data[:0]
		for _, line := range bytes.Split(buf[start:start+end], []byte("\n")) {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				if len(c.data) > 0 {
					c.data = append(c.data, '\n')
				}
				c.data = append(c.data, bytes.TrimPrefix(v, []byte(" "))...)
			}
		}
		if len(c.data) > 0 {
			fn(c.data)
		}
		start += next
	}
	rest := buf[start:]
	if len(c.pending) > 0 {
		c.pending = c.pending[:copy(c.pending, rest)]
	} else {
		c.pending = append(c.pending[:0], rest...)
	}
}

// eventEnd finds the blank line that ends the first event of b: the event's
// length without it, and where the next event starts; -1 when b holds no
// complete event.
func eventEnd(b []byte) (end, next int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return i, j + 1
		}
	}
	return -1, 0
}
