package vendors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// OpenAI's Responses API to the vendors that serve it themselves (openai,
// azure's v1 API, x): the body passes with its model and, for a
// previous_response_id, the vendor's own id rewritten; the answer passes
// with its response ids signed (ResponseIDs), read on the way by a meter of
// the Responses events: the commit point is the first output (a delta, or a
// tool call starting), the usage is response.completed's, and an error
// event or response.failed is the vendor's error.

// maxResponsesEvent bounds one event the meter holds.
const maxResponsesEvent = 8 << 20

// responsesTranslator is one attempt of a Responses request at a vendor
// that serves the API.
type responsesTranslator struct {
	v *Vendor
	b *compatBackend
	a Attempt

	pending []byte // an event not yet complete
	out     []byte

	committed, done bool
	err             *meter.VendorError
	usage           billing.Usage
	usageSeen       bool
	contentBytes    int
	contentEvents   int
	seq             int64  // the last sequence_number seen
	response        []byte // the last response object seen, its id signed
}

func newResponsesTranslator(v *Vendor, b *compatBackend, a Attempt) *responsesTranslator {
	return &responsesTranslator{v: v, b: b, a: a}
}

// Request sends the client's body with the vendor's model, and the vendor's
// own id for a previous_response_id.
func (t *responsesTranslator) Request(out *http.Request) error {
	if !t.a.Layout.Known && !jsonwalk.Valid(t.a.Body) {
		return t.v.refused(errors.New("the request body is not valid JSON"))
	}
	body, err := withModel(t.a.Body, t.a.Model)
	if err != nil {
		return t.v.refused(err)
	}
	if prev := gjson.GetBytes(body, "previous_response_id"); prev.Type == gjson.String {
		inner, err := t.innerID(prev.Str)
		if err != nil {
			return t.v.refused(err)
		}
		if body, err = sjson.SetBytes(body, "previous_response_id", inner); err != nil {
			return t.v.refused(err)
		}
	}
	p := t.b.paths[Responses]
	return t.v.send(out, &outgoing{path: p.path, rawPath: p.rawPath, query: t.b.query,
		authName: t.b.authName, authValue: t.b.authValue, body: body})
}

// innerID returns the vendor's own id of a response id the router signed
// for this vendor.
func (t *responsesTranslator) innerID(id string) (string, error) {
	if t.a.ResponseIDs == nil {
		return id, nil
	}
	vendor, inner, ok := t.a.ResponseIDs.Open(id)
	if !ok || vendor != t.v.id {
		return "", fmt.Errorf("previous_response_id %q is not a response of vendor %s", id, t.v.id)
	}
	return inner, nil
}

// sign returns the router's id of the vendor's response id.
func (t *responsesTranslator) sign(inner string) string {
	if t.a.ResponseIDs == nil {
		return inner
	}
	return t.a.ResponseIDs.Sign(t.v.id, inner)
}

// ResponseHeaders: the ids change length.
func (t *responsesTranslator) ResponseHeaders(resp *http.Response) {
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
}

// Feed reads the vendor's events, passing them on with their response ids
// signed.
func (t *responsesTranslator) Feed(p []byte, eof bool) error {
	buf := p
	if len(t.pending) > 0 {
		t.pending = append(t.pending, p...)
		buf = t.pending
	}
	start := 0
	for {
		end, next := eventEnd(buf[start:])
		if end < 0 {
			break
		}
		t.event(buf[start : start+next])
		start += next
	}
	rest := buf[start:]
	if len(rest) > maxResponsesEvent {
		return errors.New("a Responses event is larger than the router holds")
	}
	if len(t.pending) > 0 {
		t.pending = t.pending[:copy(t.pending, rest)]
	} else {
		t.pending = append(t.pending, rest...)
	}
	return nil
}

// event reads one whole event, ev (with its blank line), and passes it on.
func (t *responsesTranslator) event(ev []byte) {
	var data []byte
	for _, line := range splitLines(ev) {
		if v, ok := cutField(line, "data:"); ok {
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, v...)
		}
	}
	if data == nil {
		t.out = append(t.out, ev...) // a comment, a keep-alive
		return
	}
	if !jsonwalk.Valid(data) {
		t.out = append(t.out, ev...) // not the API's: passed on, not read
		return
	}
	d := gjson.ParseBytes(data)
	typ := d.Get("type").Str
	if n := d.Get("sequence_number"); n.Type == gjson.Number {
		t.seq = n.Int()
	}
	switch typ {
	case "response.output_text.delta", "response.refusal.delta", "response.function_call_arguments.delta",
		"response.reasoning_summary_text.delta", "response.reasoning_text.delta",
		"response.custom_tool_call_input.delta", "response.code_interpreter_call_code.delta":
		t.content(len(d.Get("delta").Str))
	case "response.output_item.added":
		if k := d.Get("item.type").Str; k != "message" && k != "reasoning" {
			t.content(len(d.Get("item").Raw)) // a tool call starting is output
		}
	case "response.completed", "response.incomplete":
		t.done = true
		t.readUsage(d.Get("response.usage"))
	case "response.failed":
		t.readUsage(d.Get("response.usage"))
		t.setErr(d.Get("response.error"), "response failed")
	case "error":
		t.setErr(d, "error")
	}
	if r := d.Get("response"); r.IsObject() && r.Get("id").Type == gjson.String {
		signed, err := sjson.SetBytes([]byte(r.Raw), "id", t.sign(r.Get("id").Str))
		if err == nil {
			t.response = signed
			if out, err := sjson.SetRawBytes(data, "response", signed); err == nil {
				t.out = append(t.out, "event: "...)
				t.out = append(t.out, typ...)
				t.out = append(t.out, "\ndata: "...)
				t.out = append(t.out, out...)
				t.out = append(t.out, "\n\n"...)
				return
			}
		}
	}
	t.out = append(t.out, ev...)
}

func (t *responsesTranslator) content(n int) {
	t.committed = true
	t.contentEvents++
	t.contentBytes += n
}

func (t *responsesTranslator) setErr(e gjson.Result, what string) {
	if t.err != nil {
		return
	}
	msg := e.Get("message").Str
	if msg == "" {
		msg = what
	}
	t.err = &meter.VendorError{Message: msg, Type: e.Get("type").Str, Code: e.Get("code").Str}
}

// readUsage reads a ResponseUsage object.
func (t *responsesTranslator) readUsage(u gjson.Result) {
	if !u.IsObject() {
		return
	}
	t.usageSeen = true
	t.usage = billing.Usage{
		PromptTokens:     int(u.Get("input_tokens").Int()),
		CachedTokens:     int(u.Get("input_tokens_details.cached_tokens").Int()),
		CompletionTokens: int(u.Get("output_tokens").Int()),
		ReasoningTokens:  int(u.Get("output_tokens_details.reasoning_tokens").Int()),
	}
}

func (t *responsesTranslator) Output() []byte {
	b := t.out
	t.out = t.out[:0]
	return b
}

// End passes on an unterminated last event as if the vendor had ended it.
func (t *responsesTranslator) End() {
	if len(t.pending) > 0 {
		ev := append(t.pending, "\n\n"...)
		t.pending = nil
		t.event(ev)
	}
}

func (t *responsesTranslator) Committed() bool         { return t.committed }
func (t *responsesTranslator) Done() bool              { return t.done }
func (t *responsesTranslator) Err() *meter.VendorError { return t.err }

// Usage is response.completed's, or else estimated.
func (t *responsesTranslator) Usage() billing.Usage {
	if t.usageSeen {
		return t.usage
	}
	return billing.Usage{PromptTokens: t.a.PromptTokens,
		CompletionTokens: max((t.contentBytes+3)/4, t.contentEvents), Estimated: true}
}

// Interrupt ends the stream with response.failed: the response as last
// seen, failed, with the next sequence number.
func (t *responsesTranslator) Interrupt(msg, _ string) {
	r := t.response
	if r == nil {
		r = []byte(`{"id":"","object":"response","created_at":0,"error":null,"incomplete_details":null,"instructions":null,"model":"","tools":[],"output":[],"parallel_tool_calls":true,"metadata":{},"tool_choice":"auto","temperature":1,"top_p":1}`)
	}
	r, _ = sjson.SetBytes(r, "status", "failed")
	r, _ = sjson.SetRawBytes(r, "error", append(append([]byte(`{"code":"server_error","message":`),
		appendJSONString(nil, msg)...), '}'))
	t.out = append(t.out, "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":"...)
	t.out = strconv.AppendInt(t.out, t.seq+1, 10)
	t.out = append(t.out, `,"response":`...)
	t.out = append(t.out, r...)
	t.out = append(t.out, "}\n\n"...)
}

// Answer signs the response's id and reads it.
func (t *responsesTranslator) Answer(body []byte) ([]byte, meter.Result, error) {
	if !jsonwalk.Valid(body) {
		return body, meter.Result{Usage: billing.Usage{PromptTokens: t.a.PromptTokens, Estimated: true},
			Err: &meter.VendorError{Type: "invalid_response", Message: "the vendor's response is not valid JSON"}}, nil
	}
	r := gjson.ParseBytes(body)
	var res meter.Result
	if e := r.Get("error"); e.IsObject() {
		res.Err = &meter.VendorError{Message: e.Get("message").Str, Type: e.Get("type").Str, Code: e.Get("code").Str}
	}
	text := 0
	r.Get("output").ForEach(func(_, item gjson.Result) bool {
		res.HasContent = true
		text += len(item.Raw)
		return true
	})
	t.usageSeen = false
	t.readUsage(r.Get("usage"))
	res.Usage = t.usage
	if !t.usageSeen {
		res.Usage = billing.Usage{PromptTokens: t.a.PromptTokens, CompletionTokens: (text + 3) / 4, Estimated: true}
	}
	res.FinishReason = r.Get("status").Str
	if id := r.Get("id"); id.Type == gjson.String {
		if out, err := sjson.SetBytes(body, "id", t.sign(id.Str)); err == nil {
			body = out
		}
	}
	return body, res, nil
}

// ErrorBody passes the vendor's error on (OpenAI's shape), without the key.
func (t *responsesTranslator) ErrorBody(_ http.Header, _ int, body []byte) []byte {
	return t.v.RedactBody(body)
}

func (t *responsesTranslator) Release() {}

// splitLines splits an event into its lines, without their ends.
func splitLines(ev []byte) [][]byte {
	var lines [][]byte
	for len(ev) > 0 {
		i := 0
		for i < len(ev) && ev[i] != '\n' {
			i++
		}
		line := ev[:i]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		lines = append(lines, line)
		if i == len(ev) {
			break
		}
		ev = ev[i+1:]
	}
	return lines
}

// cutField returns the value of an SSE line of field name ("data:"),
// without the one space that may follow the colon.
func cutField(line []byte, name string) ([]byte, bool) {
	if len(line) < len(name) || string(line[:len(name)]) != name {
		return nil, false
	}
	v := line[len(name):]
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return v, true
}

// ResponseRequest shapes out as a request about a stored response of the
// vendor's (GET /responses/{id}, DELETE it, GET its input_items, POST its
// cancel): method, the vendor's own id and the rest of the path (suffix,
// "" or "/input_items"...), the query, and the vendor's credential. It
// returns an error when the vendor does not serve the Responses API itself.
func (v *Vendor) ResponseRequest(out *http.Request, inner, suffix, query string) error {
	b, ok := v.backend.(*compatBackend)
	if !ok || !b.serves(Responses) {
		return fmt.Errorf("vendor %q does not store responses", v.id)
	}
	rel := "/" + Responses.String() + "/" + inner + suffix
	path, rawPath := v.below(rel, "/"+Responses.String()+"/"+url.PathEscape(inner)+suffix)
	q := b.query
	if query != "" {
		if q != "" {
			q += "&"
		}
		q += query
	}
	o := outgoing{path: path, rawPath: rawPath, query: q, authName: b.authName, authValue: b.authValue}
	if err := v.send(out, &o); err != nil {
		return err
	}
	if out.Method == http.MethodGet || out.Method == http.MethodDelete {
		out.Body, out.GetBody, out.ContentLength = http.NoBody, nil, 0
		out.Header.Del("Content-Type")
	}
	return nil
}

// SignResponseIDs rewrites a stored response fetched from the vendor (GET
// /responses/{id}) to carry the router's id for it; any other body is
// returned as it is.
func (v *Vendor) SignResponseIDs(ids *ResponseIDs, body []byte) []byte {
	r := gjson.ParseBytes(body)
	if r.Get("object").Str != "response" || r.Get("id").Type != gjson.String {
		return body
	}
	out, err := sjson.SetBytes(body, "id", ids.Sign(v.id, r.Get("id").Str))
	if err != nil {
		return body
	}
	return out
}

// Interface guards
var _ Translator = (*responsesTranslator)(nil)
