package llmrouter

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/selector"
	"github.com/caddy-llm/llmrouter/vendors"
)

// topLevel is what the router reads of a request body, in the pass that
// validates it.
type topLevel struct {
	model, routing, stream, maxCompletionTokens, maxTokens gjson.Result
	// includeUsage is stream_options.include_usage being true, from the
	// first stream_options that has the member (usageSeen).
	includeUsage, usageSeen bool

	layout   vendors.Layout // for the vendors' rewrites
	estimate selector.PromptEstimator
	open     int // offset of the object's '{'
	routings int // "routing" members, removed before forwarding
	// Where every member is, for removing "routing": the first ones in
	// spans, the rest in moreSpans. (A slice of spans held in the struct
	// itself would make it escape to the heap.)
	members   int
	spans     [16]memberSpan
	moreSpans []memberSpan
}

// memberSpan is where a top-level member is: body[keyStart:valueEnd].
type memberSpan struct {
	keyStart, valueEnd int
	routing            bool
}

// readTopLevel validates body as a JSON object and reads the top-level fields
// the router needs, in one pass: a long conversation is scanned once, not
// once for validation and again for every field. The first member of a name
// wins, as with gjson.Get. The results point into body, which must not change
// afterwards. f is the caller's, zero: at about a kilobyte, it is better on
// the caller's stack than allocated per request.
func readTopLevel(f *topLevel, body []byte) error {
	open, err := jsonwalk.ObjectIndexed(body, f.observe)
	if err != nil {
		return err
	}
	f.open = open
	f.layout.Known, f.layout.Open = true, open
	f.layout.NoToolCalls = !f.estimate.ToolCalls()
	return nil
}

// observe reads one member; idx knows where its long strings are.
func (f *topLevel) observe(m jsonwalk.Member, idx *jsonwalk.StringIndex) {
	key := m.Name()
	f.layout.ObserveNamed(key, m)
	// The prompt is estimated here, while the member just validated is
	// still in the cache, rather than by a second walk of the body, and
	// its long strings are not scanned again.
	f.estimate.IndexedMember(key, m, idx)
	first := func(dst *gjson.Result) {
		if !dst.Exists() {
			*dst = parseValue(jsonwalk.View(m.Value))
		}
	}
	isRouting := false
	switch string(key) {
	case "model":
		first(&f.model)
	case "routing":
		first(&f.routing)
		f.routings++
		isRouting = true
	case "stream":
		first(&f.stream)
	case "max_completion_tokens", "max_output_tokens": // chat completions', Responses'
		first(&f.maxCompletionTokens)
	case "max_tokens":
		first(&f.maxTokens)
	case "stream_options":
		if !f.usageSeen {
			f.includeUsage, f.usageSeen = memberIsTrue(jsonwalk.View(m.Value), "include_usage")
		}
	}
	span := memberSpan{keyStart: m.KeyStart, valueEnd: m.ValueEnd, routing: isRouting}
	if f.members < len(f.spans) {
		f.spans[f.members] = span
	} else {
		f.moreSpans = append(f.moreSpans, span)
	}
	f.members++
}

// parseValue is gjson.Parse(raw) for a valid JSON value. The values a
// request nearly always has (the model, a string without escapes; stream, a
// literal; max_tokens, a non-negative integer) are built here, the same
// Result, so that gjson's parser, and the float parse it does for every
// number, are not on the request path. A negative number is left to gjson,
// for the sign of -0.
func parseValue(raw string) gjson.Result {
	switch raw[0] {
	case '"':
		if body := raw[1 : len(raw)-1]; strings.IndexByte(body, '\\') < 0 {
			return gjson.Result{Type: gjson.String, Raw: raw, Str: body}
		}
	case 't':
		return gjson.Result{Type: gjson.True, Raw: raw}
	case 'f':
		return gjson.Result{Type: gjson.False, Raw: raw}
	case 'n':
		return gjson.Result{Type: gjson.Null, Raw: raw}
	default:
		if n, ok := jsonwalk.Int(raw); ok && raw[0] != '-' {
			return gjson.Result{Type: gjson.Number, Raw: raw, Num: float64(n)}
		}
	}
	return gjson.Parse(raw)
}

// memberIsTrue reads the first member called name of obj, a valid JSON
// value: whether there is one (found; never when obj is not an object) and
// whether it is true. A key spelled with escapes counts, as it does for
// gjson.Get and for a vendor's decoder.
func memberIsTrue(obj, name string) (isTrue, found bool) {
	jsonwalk.Members(obj, func(key, raw string) {
		if !found && jsonwalk.KeyIs(key, name) {
			isTrue, found = raw == "true", true
		}
	})
	return isTrue, found
}

// span returns where member i is.
func (f *topLevel) span(i int) memberSpan {
	if i < len(f.spans) {
		return f.spans[i]
	}
	return f.moreSpans[i-len(f.spans)]
}

// withoutRouting returns body without its top-level "routing" members (all of
// them: a duplicate must not slip through to a vendor), and the layout of the
// new body. The client's body itself is never modified.
func (f *topLevel) withoutRouting(body []byte) ([]byte, vendors.Layout) {
	if f.routings == 0 {
		return body, f.layout
	}
	out := make([]byte, 0, len(body))
	out = append(out, body[:f.open+1]...)
	l := f.layout
	l.Members -= f.routings
	moveModel, moveOptions := true, true
	kept := 0
	for i := range f.members {
		m := f.span(i)
		if m.routing {
			continue
		}
		if kept > 0 {
			out = append(out, ',')
		}
		kept++
		shift := len(out) - m.keyStart
		// A span inside this member moves with it.
		if moveModel && l.ModelCount > 0 && l.Model.Start >= m.keyStart && l.Model.End <= m.valueEnd {
			l.Model.Start += shift
			l.Model.End += shift
			moveModel = false
		}
		if moveOptions && l.StreamOptionsCount > 0 && l.StreamOptions.Start >= m.keyStart && l.StreamOptions.End <= m.valueEnd {
			l.StreamOptions.Start += shift
			l.StreamOptions.End += shift
			moveOptions = false
		}
		out = append(out, body[m.keyStart:m.valueEnd]...)
	}
	return append(out, '}'), l
}
