package meter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Assembler builds, from a stream of chat.completion.chunk events, the one
// chat.completion object the vendor would have answered had the request not
// asked for a stream. The router uses it when it streams from a vendor what a
// client asked for whole (a hedged request: only a stream can be cancelled).
//
// It reads the events through a Stream (the framing, [DONE], error events and
// usage are the meter's) and merges the chunks' choices by index: role,
// content, refusal, reasoning_content (or reasoning, as vendors name it),
// tool_calls merged by their index (id, type and name from the first
// fragment that has them, arguments concatenated), the legacy function_call,
// annotations, logprobs and finish_reason; the top level takes id, created,
// model, service_tier and system_fingerprint from the chunks, Azure's
// prompt_filter_results, and the last usage the vendor reported, with its
// details. Strings are concatenated as they were written, still escaped, so
// that a character split across two chunks comes out whole.
//
// Write it the events (any split), then call Answer. It is not safe for
// concurrent use.
type Assembler struct {
	s Stream
	// max bounds what the assembled object may hold (0: no bound).
	max  int
	size int
	bad  error // the first chunk that could not be read

	// Raw JSON values, copied.
	id, created, model, fingerprint, tier, promptFilters string
	usage                                                string
	usageCounts                                          billing.Usage

	choices []*choiceParts
}

// choiceParts is what the chunks said about one choice so far.
type choiceParts struct {
	index int
	role  string // raw
	// Text members: their concatenated bodies, still escaped, and whether
	// any chunk had the member as a string (else it is null).
	content, refusal, reasoningContent, reasoning textParts
	// contentArray holds content parts, for vendors that stream content as
	// arrays (Mistral's reasoning models); text runs join it as text parts.
	contentArray []string
	toolCalls    []*callParts
	function     *callParts // the legacy function_call
	annotations  []string   // raw elements
	// logprobs: the elements of content and refusal; nil slices and false
	// flags when no chunk carried them.
	logprobs                             bool
	logprobContent, logprobRefusal       []string
	logprobContentSeen, logprobRefusSeen bool
	finish                               string // raw, the last non-null
}

// textParts is a string member assembled from its fragments.
type textParts struct {
	body []byte // escaped, without quotes
	seen bool
}

func (t *textParts) add(raw string) {
	if len(raw) < 2 || raw[0] != '"' {
		return
	}
	t.seen = true
	t.body = append(t.body, jsonwalk.StringBody(raw)...)
}

// callParts is one tool call (or the legacy function_call) assembled.
type callParts struct {
	index          int
	id, typ, name  string // raw
	arguments      textParts
	indexed, named bool
}

// NewAssembler returns an Assembler whose answer may hold at most max bytes
// of generated text and metadata (0: no bound); a larger one is an error.
func NewAssembler(max int) *Assembler {
	a := &Assembler{max: max}
	a.s.onChunk = a.chunk
	return a
}

// Write reads the next bytes of the stream. It never fails: what cannot be
// read is Answer's error.
func (a *Assembler) Write(p []byte) (int, error) {
	a.s.Feed(p)
	a.s.out = a.s.out[:0]
	return len(p), nil
}

// Usage is the usage the stream reported, or the meter's estimate.
func (a *Assembler) Usage() billing.Usage { return a.s.Usage() }

// Errors of Answer, besides a *VendorError for an error event.
var (
	ErrIncomplete = errors.New("the stream ended before [DONE]")
	ErrUnreadable = errors.New("a chunk of the stream cannot be read")
	ErrTooLarge   = errors.New("the answer is too large to assemble")
)

// Answer returns the assembled chat.completion. It is an error when the
// stream reported an error (a *VendorError), did not reach [DONE], or had a
// chunk that is not valid JSON or too large to read.
func (a *Assembler) Answer() ([]byte, error) {
	a.s.End()
	a.s.out = a.s.out[:0]
	switch {
	case a.s.Err() != nil:
		return nil, a.s.Err()
	case a.bad != nil:
		return nil, a.bad
	case a.s.skipped:
		return nil, fmt.Errorf("%w: an event is larger than %d bytes", ErrUnreadable, maxEvent)
	case !a.s.Done():
		return nil, ErrIncomplete
	}
	return a.appendAnswer(make([]byte, 0, a.size+256+128*len(a.choices))), nil
}

// chunk reads one chunk into the parts.
func (a *Assembler) chunk(js string) {
	if a.bad != nil {
		return
	}
	if !jsonwalk.ValidString(js) {
		a.bad = fmt.Errorf("%w: it is not valid JSON", ErrUnreadable)
		return
	}
	a.size += len(js)
	if a.max > 0 && a.size > a.max {
		a.bad = ErrTooLarge
		return
	}
	jsonwalk.Members(js, func(key, raw string) {
		switch key {
		case "id":
			firstString(&a.id, raw)
		case "model":
			firstString(&a.model, raw)
		case "created":
			if a.created == "" && gjson.Parse(raw).Type == gjson.Number && raw != "0" {
				a.created = strings.Clone(raw)
			}
		case "system_fingerprint":
			firstString(&a.fingerprint, raw)
		case "service_tier":
			firstString(&a.tier, raw)
		case "prompt_filter_results":
			if a.promptFilters == "" && jsonwalk.NonEmptyArray(raw) {
				a.promptFilters = strings.Clone(raw)
			}
		case "usage":
			a.readUsage(raw)
		case "choices":
			jsonwalk.WalkArray(raw, 0, func(v int) int {
				end := jsonwalk.SkipValue(raw, v)
				if end > 0 && jsonwalk.IsObject(raw[v:end]) {
					a.readChoice(raw[v:end])
				}
				return end
			})
		}
	})
}

// firstString keeps raw in *dst when it is the first non-empty string.
func firstString(dst *string, raw string) {
	if *dst == "" && jsonwalk.NonEmptyString(raw) {
		*dst = strings.Clone(raw)
	}
}

// readUsage keeps the latest usage whose counts differ from the kept one's:
// running totals replace each other, and a usage chunk the meter
// synthesized (the same counts, fewer details) does not replace the
// vendor's own.
func (a *Assembler) readUsage(raw string) {
	if !jsonwalk.IsObject(raw) {
		return
	}
	var u billing.Usage
	readUsage(raw, &u)
	if a.usage != "" && u == a.usageCounts {
		return
	}
	a.usage, a.usageCounts = strings.Clone(raw), u
}

// choice returns the parts of the choice with index i.
func (a *Assembler) choice(i int) *choiceParts {
	for _, c := range a.choices {
		if c.index == i {
			return c
		}
	}
	c := &choiceParts{index: i}
	a.choices = append(a.choices, c)
	return c
}

// readChoice reads one element of a chunk's choices.
func (a *Assembler) readChoice(js string) {
	index := int(gjson.Get(js, "index").Int())
	c := a.choice(index)
	jsonwalk.Members(js, func(key, raw string) {
		switch key {
		case "delta", "message":
			if jsonwalk.IsObject(raw) {
				a.readDelta(c, raw)
			}
		case "logprobs":
			if jsonwalk.IsObject(raw) {
				c.logprobs = true
				c.logprobContentSeen = elements(&c.logprobContent, gjson.Get(raw, "content").Raw) || c.logprobContentSeen
				c.logprobRefusSeen = elements(&c.logprobRefusal, gjson.Get(raw, "refusal").Raw) || c.logprobRefusSeen
			}
		case "finish_reason":
			if jsonwalk.NonEmptyString(raw) {
				c.finish = strings.Clone(raw)
			}
		}
	})
}

// elements appends the raw elements of the array raw to dst and reports
// whether raw is an array.
func elements(dst *[]string, raw string) bool {
	if len(raw) == 0 || raw[0] != '[' {
		return false
	}
	jsonwalk.WalkArray(raw, 0, func(v int) int {
		end := jsonwalk.SkipValue(raw, v)
		if end > 0 {
			*dst = append(*dst, strings.Clone(raw[v:end]))
		}
		return end
	})
	return true
}

// readDelta reads a choice's delta.
func (a *Assembler) readDelta(c *choiceParts, js string) {
	jsonwalk.Members(js, func(key, raw string) {
		switch key {
		case "role":
			firstString(&c.role, raw)
		case "content":
			if len(raw) > 0 && raw[0] == '[' {
				c.flushText()
				elements(&c.contentArray, raw)
			} else {
				c.content.add(raw)
			}
		case "refusal":
			c.refusal.add(raw)
		case "reasoning_content":
			c.reasoningContent.add(raw)
		case "reasoning":
			c.reasoning.add(raw)
		case "tool_calls":
			jsonwalk.WalkArray(raw, 0, func(v int) int {
				end := jsonwalk.SkipValue(raw, v)
				if end > 0 && jsonwalk.IsObject(raw[v:end]) {
					c.readToolCall(raw[v:end])
				}
				return end
			})
		case "function_call":
			if jsonwalk.IsObject(raw) {
				if c.function == nil {
					c.function = new(callParts)
				}
				c.function.readFunction(raw)
			}
		case "annotations":
			elements(&c.annotations, raw)
		}
	})
}

// flushText moves a run of string content into contentArray as a text part,
// once the content is an array.
func (c *choiceParts) flushText() {
	if len(c.content.body) == 0 {
		return
	}
	part := append([]byte(`{"type":"text","text":"`), c.content.body...)
	c.contentArray = append(c.contentArray, string(append(part, `"}`...)))
	c.content.body = c.content.body[:0]
}

// readToolCall merges one tool call fragment. A fragment without an index
// (some OpenAI-compatible servers send whole calls without one) is a new
// call when its id is new, else the last call's continuation.
func (c *choiceParts) readToolCall(js string) {
	idx := gjson.Get(js, "index")
	id := gjson.Get(js, "id").Raw
	var call *callParts
	switch {
	case idx.Type == gjson.Number:
		i := int(idx.Int())
		for _, tc := range c.toolCalls {
			if tc.indexed && tc.index == i {
				call = tc
			}
		}
		if call == nil {
			call = &callParts{index: i, indexed: true}
			c.toolCalls = append(c.toolCalls, call)
		}
	default:
		if n := len(c.toolCalls); n > 0 && (!jsonwalk.NonEmptyString(id) || c.toolCalls[n-1].id == id) {
			call = c.toolCalls[n-1]
		} else {
			call = &callParts{index: n}
			c.toolCalls = append(c.toolCalls, call)
		}
	}
	firstString(&call.id, id)
	firstString(&call.typ, gjson.Get(js, "type").Raw)
	if fn := gjson.Get(js, "function"); fn.IsObject() {
		call.readFunction(fn.Raw)
	}
}

// readFunction merges a function fragment: the name once, the arguments
// concatenated.
func (call *callParts) readFunction(js string) {
	jsonwalk.Members(js, func(key, raw string) {
		switch key {
		case "name":
			if !call.named && jsonwalk.NonEmptyString(raw) {
				call.name, call.named = strings.Clone(raw), true
			}
		case "arguments":
			call.arguments.add(raw)
		}
	})
}

// appendAnswer appends the chat.completion, its members in OpenAI's order.
func (a *Assembler) appendAnswer(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendOr(b, a.id, `""`)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = appendOr(b, a.created, `0`)
	b = append(b, `,"model":`...)
	b = appendOr(b, a.model, `""`)
	b = append(b, `,"choices":[`...)
	slices.SortStableFunc(a.choices, func(x, y *choiceParts) int { return x.index - y.index })
	for i, c := range a.choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.appendChoice(b)
	}
	b = append(b, ']')
	if a.usage != "" {
		b = append(append(b, `,"usage":`...), a.usage...)
	}
	if a.tier != "" {
		b = append(append(b, `,"service_tier":`...), a.tier...)
	}
	if a.fingerprint != "" {
		b = append(append(b, `,"system_fingerprint":`...), a.fingerprint...)
	}
	if a.promptFilters != "" {
		b = append(append(b, `,"prompt_filter_results":`...), a.promptFilters...)
	}
	return append(b, '}')
}

// appendChoice appends one choice of the answer.
func (c *choiceParts) appendChoice(b []byte) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(c.index), 10)
	b = append(b, `,"message":{"role":`...)
	b = appendOr(b, c.role, `"assistant"`)
	b = append(b, `,"content":`...)
	if len(c.contentArray) > 0 {
		c.flushText()
		b = appendArray(b, c.contentArray)
	} else {
		b = c.content.appendTo(b)
	}
	if c.reasoningContent.seen {
		b = c.reasoningContent.appendTo(append(b, `,"reasoning_content":`...))
	}
	if c.reasoning.seen {
		b = c.reasoning.appendTo(append(b, `,"reasoning":`...))
	}
	b = c.refusal.appendTo(append(b, `,"refusal":`...))
	if len(c.toolCalls) > 0 {
		slices.SortStableFunc(c.toolCalls, func(x, y *callParts) int { return x.index - y.index })
		b = append(b, `,"tool_calls":[`...)
		for i, call := range c.toolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendOr(b, call.id, `""`)
			b = append(b, `,"type":`...)
			b = appendOr(b, call.typ, `"function"`)
			b = call.appendFunction(append(b, `,"function":`...))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if c.function != nil {
		b = c.function.appendFunction(append(b, `,"function_call":`...))
	}
	if len(c.annotations) > 0 {
		b = appendArray(append(b, `,"annotations":`...), c.annotations)
	}
	b = append(b, `},"logprobs":`...)
	if c.logprobs {
		b = append(b, `{"content":`...)
		b = appendArrayOrNull(b, c.logprobContent, c.logprobContentSeen)
		b = append(b, `,"refusal":`...)
		b = appendArrayOrNull(b, c.logprobRefusal, c.logprobRefusSeen)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"finish_reason":`...)
	switch {
	case c.finish != "":
		b = append(b, c.finish...)
	case len(c.toolCalls) > 0:
		b = append(b, `"tool_calls"`...)
	default:
		// A stream that reached [DONE] without one: it stopped on its own.
		b = append(b, `"stop"`...)
	}
	return append(b, '}')
}

// appendFunction appends {"name":...,"arguments":...}.
func (call *callParts) appendFunction(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = appendOr(b, call.name, `""`)
	b = append(b, `,"arguments":"`...)
	b = append(b, call.arguments.body...)
	return append(b, `"}`...)
}

// appendTo appends the assembled string, or null when no chunk had one.
func (t *textParts) appendTo(b []byte) []byte {
	if !t.seen {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = append(b, t.body...)
	return append(b, '"')
}

// appendOr appends the raw value v, or def when there is none.
func appendOr(b []byte, v, def string) []byte {
	if v == "" {
		return append(b, def...)
	}
	return append(b, v...)
}

// appendArray appends the raw elements as an array.
func appendArray(b []byte, elems []string) []byte {
	b = append(b, '[')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']')
}

func appendArrayOrNull(b []byte, elems []string, seen bool) []byte {
	if !seen {
		return append(b, "null"...)
	}
	return appendArray(b, elems)
}
