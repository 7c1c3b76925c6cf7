package vendors

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/meter"
	"github.com/caddy-llm/llmrouter/internal/openai"
)

// nativeAnswer is the answer half of every translator from OpenAI chat
// completions to a vendor API of its own (Anthropic Messages, Bedrock
// Converse, Gemini generateContent): the vendor's stream goes through the
// kind's decoder, which writes OpenAI chunks (usage chunk included, so that
// it can be metered), and those through the meter on their way to the
// client; a whole answer through the kind's completion translation. The
// translators embed it and add their Request.
type nativeAnswer struct {
	v    *Vendor
	a    Attempt
	read *nativeReaders // the vendor API's, declared in its pair's file

	dec streamDecoder
	w   chunkWriter
	m   *meter.Stream
}

// nativeReaders are how a vendor API's answers are read. Each pair's file
// declares its own.
type nativeReaders struct {
	// newDecoder makes the stream decoder of an attempt whose vendor-side
	// model is model.
	newDecoder func(model string) streamDecoder
	// completion translates a whole answer to a chat.completion object.
	completion func(model string, body []byte) ([]byte, error)
	// errorMessage reads the vendor's error bodies: type and message.
	errorMessage func(body []byte) (errType, message string)
}

// errNativeStream is returned by decoders for framing they cannot read.
var errNativeStream = errors.New("malformed vendor stream")

// ResponseHeaders: the client gets OpenAI SSE or JSON, of a length known
// only once translated, and uncompressed.
func (n *nativeAnswer) ResponseHeaders(resp *http.Response) {
	resp.Header.Del("Content-Length")
	resp.Header.Del("Content-Encoding")
	resp.ContentLength = -1
	if n.a.Stream {
		resp.Header.Set("Content-Type", "text/event-stream")
	} else {
		resp.Header.Set("Content-Type", "application/json")
	}
}

// meter returns the attempt's meter, taking it from the pool on first use.
func (n *nativeAnswer) meter() *meter.Stream {
	if n.m == nil {
		n.m = getMeterStream(n.a)
	}
	return n.m
}

// Feed decodes the vendor's bytes into OpenAI chunks and meters them. At the
// end of the vendor's stream the decoder renders what it still holds (the
// usage chunk and [DONE] of a stream that ended properly).
func (n *nativeAnswer) Feed(p []byte, eof bool) error {
	if n.dec == nil {
		n.dec = n.read.newDecoder(n.a.Model)
		n.w.init(n.a.Model)
	}
	m := n.meter()
	var err error
	if len(p) > 0 {
		err = n.dec.feed(p, &n.w)
	}
	if err == nil && eof {
		err = n.dec.end(&n.w)
	}
	// The meter copies what it keeps, so the writer's buffer is reused.
	m.Feed(n.w.buf)
	n.w.buf = n.w.buf[:0]
	return err
}

func (n *nativeAnswer) Output() []byte             { return n.meter().Output() }
func (n *nativeAnswer) End()                       { n.meter().End() }
func (n *nativeAnswer) Committed() bool            { return n.m != nil && n.m.Committed() }
func (n *nativeAnswer) Done() bool                 { return n.m != nil && n.m.Done() }
func (n *nativeAnswer) Err() *meter.VendorError    { return n.meter().Err() }
func (n *nativeAnswer) Usage() billing.Usage       { return n.meter().Usage() }
func (n *nativeAnswer) Interrupt(msg, code string) { n.meter().Interrupt(msg, code) }

// Answer translates a whole answer, then reads it as any OpenAI answer.
func (n *nativeAnswer) Answer(body []byte) ([]byte, meter.Result, error) {
	out, err := n.read.completion(n.a.Model, body)
	if err != nil {
		return nil, meter.Result{}, err
	}
	return out, meter.InspectJSON(out, n.a.PromptTokens), nil
}

// ErrorBody turns the vendor's error into OpenAI's error shape,
// {"error":{"message","type","param","code"}}, so that a vendor error the
// client gets as is (a 400 about its request) reads like every other. The
// message is cleaned of the vendor's key.
func (n *nativeAnswer) ErrorBody(h http.Header, status int, body []byte) []byte {
	body = n.v.RedactBody(body)
	errType, msg := n.read.errorMessage(body)
	if errType == "" {
		errType = "invalid_request_error"
		if status >= 500 {
			errType = "server_error"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if msg == "" {
		msg = "the vendor answered HTTP " + strconv.Itoa(status)
	}
	h.Set("Content-Type", "application/json")
	return openai.AppendError(nil, openai.Error{Message: n.v.Redact(msg), Type: errType}, nil)
}

// Release returns the meter to its pool.
func (n *nativeAnswer) Release() {
	if n.m != nil {
		putMeterStream(n.m)
		n.m = nil
	}
}

// Streams are reused across attempts: a stream's buffers grow to fit its
// events once, then serve attempt after attempt.
var meterPool = sync.Pool{New: func() any { return meter.NewStream(meter.StreamOptions{}) }}

// getMeterStream returns a pooled meter set up for attempt a.
func getMeterStream(a Attempt) *meter.Stream {
	m := meterPool.Get().(*meter.Stream)
	m.Reset(meter.StreamOptions{ClientWantsUsage: a.ClientWantsUsage, PromptEstimate: a.PromptTokens})
	return m
}

func putMeterStream(m *meter.Stream) { meterPool.Put(m) }

// DefaultMaxTokens is the max_tokens the router sends to vendors that require
// one (Anthropic, Bedrock, Claude on Vertex) when the client gives none.
const DefaultMaxTokens = 4096

// maxTokensOr is the configured default max_tokens, or DefaultMaxTokens.
func maxTokensOr(configured int) int {
	if configured > 0 {
		return configured
	}
	return DefaultMaxTokens
}

// Interface guards
var _ ResponseStream = (*nativeAnswer)(nil)
