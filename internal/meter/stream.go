package meter

import (
	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/openai"
)

// StreamOptions shape a stream for the client.
type StreamOptions struct {
	// ClientWantsUsage is whether the client asked for
	// stream_options.include_usage.
	//
	// When false, usage-only chunks (a chunk whose "choices" is empty, or
	// absent, and that has a non-null "usage") are dropped: the router asked
	// the vendor for them only to meter.
	//
	// When true and the stream reaches [DONE] without having passed a
	// usage-only chunk although usage was seen on other chunks (Mistral puts
	// usage on its last content chunk; Gemini repeats cumulative usage on many
	// chunks), a usage-only chunk in OpenAI's shape is synthesized right before
	// `data: [DONE]`.
	ClientWantsUsage bool
	// PromptEstimate is used for Usage().PromptTokens when the vendor reports
	// no usage.
	PromptEstimate int
}

// Stream reads an OpenAI chat.completion.chunk (or legacy text_completion)
// SSE stream event by event.
//
// Feed it the vendor's bytes in any split; it hands back, through Output,
// complete events ready for the client, in order and byte for byte as the
// vendor sent them (except usage chunks dropped or synthesized as
// StreamOptions says), so the caller can flush per event.
//
// A Stream is not safe for concurrent use. Reset lets a pooled Stream serve
// another response without allocating again.
type Stream struct {
	opts StreamOptions

	// Framing (see frame.go). pending holds the bytes of an event not yet
	// complete; lineStart is where its current line starts and searchFrom
	// where to resume looking for a line feed, both relative to pending, so
	// that bytes fed one at a time are not scanned again and again.
	pending    []byte
	lineStart  int
	searchFrom int
	out        []byte // events ready for the client
	scratch    []byte // the data lines of a multi-line event, joined
	crlf       bool   // the last event ended with "\r\n\r\n"

	// An event longer than maxEvent is passed through without being kept or
	// inspected (see oversize.go).
	oversize    bool
	osLineStart bool // the current line of the oversize event is empty so far, or just "\r"
	osCR        bool // ... and it is "\r"
	skipped     bool // an event passed uninspected

	// onChunk, when set, sees every chunk the stream reads (an Assembler's
	// way in): js is a view of the vendor's bytes, valid during the call.
	onChunk func(js string)

	// What the stream said so far.
	committed       bool
	done            bool
	err             *VendorError
	finish          string
	usage           billing.Usage
	usageSeen       bool
	usageOnlyPassed bool // a usage-only chunk went to the client
	contentEvents   int
	contentBytes    int
	synthesized     int // usage chunks synthesized (for tests)

	// The identity of the stream's chunks, copied from the first chunk that
	// has an id, for a synthesized usage chunk. Raw JSON values.
	metaSeen                 bool
	id, object, created, mdl []byte

	// known is what the last chunk had before its "choices", when those
	// members said nothing but the stream's identity, already captured: a
	// chunk that starts with the same bytes is read from "choices" on
	// (chunkMembers).
	known []byte
	// template is what the last chunk that said nothing but a piece of
	// text had around that text (its content string): the bytes before the
	// string's opening quote, then those after its closing quote, split at
	// templateAt. A chunk made of the same bytes around another string says
	// that string and nothing else (matchTemplate).
	template   []byte
	templateAt int  // 0: no template
	readWhole  bool // every chunk is read whole (for tests comparing both ways)
}

// NewStream returns a Stream for one response.
func NewStream(o StreamOptions) *Stream {
	return &Stream{opts: o}
}

// maxKeptBuffer is the largest buffer Reset keeps: a pooled Stream that once
// saw a huge event should not pin megabytes for the next response.
const maxKeptBuffer = 64 << 10

// Reset prepares s for another response with options o, keeping its buffers
// (up to maxKeptBuffer each).
func (s *Stream) Reset(o StreamOptions) {
	*s = Stream{
		opts:    o,
		pending: keep(s.pending),
		out:     keep(s.out),
		scratch: keep(s.scratch),
		id:      keep(s.id),
		object:  keep(s.object),
		created: keep(s.created),
		mdl:     keep(s.mdl),
		known:   keep(s.known),

		template: keep(s.template),
	}
}

// keep returns b emptied, or nil if it is too large to keep.
func keep(b []byte) []byte {
	if cap(b) > maxKeptBuffer {
		return nil
	}
	return b[:0]
}

// Feed consumes vendor bytes.
//
// Events are separated by a blank line ("\n\n" or "\r\n\r\n"); lines are
// "data:", "event:", "id:", "retry:", or comments starting with ":". Comments
// and keep-alive blank lines are passed through (they keep the client's
// connection alive) but never count as tokens. A bare "\r" is not taken as a
// line end: no vendor sends it, and supporting it would make "\r\n" split
// across two reads ambiguous.
func (s *Stream) Feed(p []byte) {
	if s.oversize {
		p = s.feedOversize(p)
	}
	if len(p) == 0 {
		return
	}
	var n int
	if len(s.pending) == 0 {
		// The common case: parse events straight from p and keep only the
		// unfinished tail, so that most bytes are copied once, to out.
		n = s.process(p)
		s.pending = append(s.pending, p[n:]...)
	} else {
		s.pending = append(s.pending, p...)
		n = s.process(s.pending)
		s.pending = s.pending[:copy(s.pending, s.pending[n:])]
	}
	s.lineStart -= n
	s.searchFrom -= n
}

// Output returns the bytes ready for the client and empties the buffer. The
// slice is valid until the next call to Feed, Output or End.
func (s *Stream) Output() []byte {
	b := s.out
	s.out = s.out[:0]
	return b
}

// End is called at the vendor's EOF. It passes on any unterminated trailing
// event, terminated with a blank line ("\n\n", or "\r\n\r\n" in a CRLF
// stream), as if the vendor had finished it.
func (s *Stream) End() {
	if s.oversize {
		s.out = append(s.out, s.oversizeTerminator()...)
		s.oversize = false
		return
	}
	if len(s.pending) == 0 {
		return
	}
	s.pending = append(s.pending, terminator(s.pending, s.crlf)...)
	s.process(s.pending)
	s.pending = s.pending[:0]
	s.lineStart, s.searchFrom = 0, 0
}

// Committed reports whether a content token was seen: a chunk whose
// choices[*].delta has a non-empty "content", "reasoning_content",
// "reasoning" or "refusal", or "tool_calls"/"function_call", or a legacy
// chunk whose choices[*].text is non-empty.
func (s *Stream) Committed() bool { return s.committed }

// Err returns the first error event seen, or nil.
func (s *Stream) Err() *VendorError { return s.err }

// Done reports whether `data: [DONE]` was seen.
func (s *Stream) Done() bool { return s.done }

// FinishReason returns the last non-null finish_reason seen.
func (s *Stream) FinishReason() string { return s.finish }

// Usage returns the last usage the vendor reported (vendors that repeat usage
// send running totals, which are never summed), or else an estimate: the
// caller's PromptEstimate and about one token per 4 bytes of generated text,
// at least one per content event.
func (s *Stream) Usage() billing.Usage {
	if s.usageSeen {
		return s.usage
	}
	return billing.Usage{
		PromptTokens:     s.opts.PromptEstimate,
		CompletionTokens: estimateCompletion(s.contentBytes, s.contentEvents),
		Estimated:        true,
	}
}

// countContent records an event that carried about n bytes of output.
func (s *Stream) countContent(n int) {
	s.committed = true
	s.contentEvents++
	s.contentBytes += n
}

// Interrupt adds to the output the error event that ends a stream broken
// after its commit point: `data: {"error":{...,"type":"server_error",
// "code":code}}`. Chat clients read it as the answer's failure.
func (s *Stream) Interrupt(message, code string) {
	s.out = openai.AppendErrorEvent(s.out, openai.Error{Message: message, Type: "server_error", Code: code})
}
