package vendors

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// OpenAI's Responses API to the vendors that do not serve it, through their
// chat completions (the chat bridge, bridge.go). The request (request
// below), the whole answer (responses_answer.go) and the stream
// (responses_stream.go) are converted; what chat completions cannot carry
// is refused (state: previous_response_id, conversation, background) or,
// for built-in tools, left out and named in a response header.

func init() { bridges[Responses] = newResponsesBridge }

// Headers of a bridged Responses answer that say what the bridge did not
// carry.
const (
	// HeaderDroppedTools lists the built-in tools (web_search,
	// file_search...) left out of the request: the vendor cannot run them.
	HeaderDroppedTools = "X-Llm-Dropped-Tools"
	// HeaderStoreIgnored is "true" when the client asked that the response
	// be stored (store is true by default): a bridged vendor stores
	// nothing.
	HeaderStoreIgnored = "X-Llm-Store-Ignored"
)

// responsesBridge is one attempt of a Responses request through chat
// completions.
type responsesBridge struct {
	v  *Vendor
	a  Attempt
	id string // the response's id, signed
	// itemIDs is the random base of the ids of the response's items.
	itemIDs string
	created int64

	req     gjson.Result // the client's body
	dropped []string     // built-in tools left out
	// storeIgnored: the client wants the response stored.
	storeIgnored bool
	// namespaced maps the flat names of namespaced function tools
	// (namespace + "__" + name) back to their namespace and name.
	namespaced map[string][2]string
}

func newResponsesBridge(v *Vendor, a Attempt) chatBridge {
	b := &responsesBridge{v: v, a: a, itemIDs: newItemIDs(), created: time.Now().Unix()}
	if a.ResponseIDs != nil {
		b.id = a.ResponseIDs.Sign(v.id, "bridged_"+b.itemIDs)
	} else {
		b.id = "resp_" + b.itemIDs
	}
	return b
}

// refuse is a request the bridge cannot carry to this vendor, with what the
// client can do about it.
func (b *responsesBridge) refuse(format string, args ...any) error {
	return fmt.Errorf("vendor %s serves the Responses API through chat completions: "+format,
		append([]any{b.v.id}, args...)...)
}

// ChatRequest converts the Responses request to chat completions.
func (b *responsesBridge) ChatRequest(a Attempt) ([]byte, error) {
	if !a.Layout.Known && !jsonwalk.Valid(a.Body) {
		return nil, errors.New("the request body is not valid JSON")
	}
	b.req = gjson.ParseBytes(a.Body)
	if !b.req.IsObject() {
		return nil, errors.New("the request body must be a JSON object")
	}
	r := b.req
	switch {
	case r.Get("previous_response_id").Type == gjson.String:
		return nil, b.refuse("it keeps no conversation state, so previous_response_id cannot be used; send the whole conversation in input")
	case r.Get("conversation").Exists() && r.Get("conversation").Type != gjson.Null:
		return nil, b.refuse("it keeps no conversation state, so conversation cannot be used; send the whole conversation in input")
	case r.Get("background").Type == gjson.True:
		return nil, b.refuse("background responses are not supported")
	}
	b.storeIgnored = r.Get("store").Type != gjson.False

	c := chatBuilder{buf: make([]byte, 0, len(a.Body)+128)}
	c.buf = append(c.buf, `{"model":`...)
	c.buf = appendJSONString(c.buf, a.Model)

	tools, choice, err := b.tools(r.Get("tools"), r.Get("tool_choice"))
	if err != nil {
		return nil, err
	}

	c.buf = append(c.buf, `,"messages":[`...)
	if in := r.Get("instructions"); in.Type == gjson.String && in.Str != "" {
		c.open("system")
		c.buf = append(append(c.buf, `,"content":`...), in.Raw...)
	}
	switch in := r.Get("input"); {
	case in.Type == gjson.String:
		c.open("user")
		c.buf = append(append(c.buf, `,"content":`...), in.Raw...)
	case in.IsArray():
		var err error
		in.ForEach(func(_, item gjson.Result) bool {
			err = b.item(&c, item)
			return err == nil
		})
		if err != nil {
			return nil, err
		}
	case in.Exists() && in.Type != gjson.Null:
		return nil, errors.New("input must be a string or an array of items")
	}
	c.close()
	if c.messages == 0 {
		return nil, errors.New("input is empty: there is nothing to answer")
	}
	c.buf = append(c.buf, ']')

	if tools != nil {
		c.buf = append(append(c.buf, `,"tools":`...), tools...)
		if choice != "" {
			c.buf = append(append(c.buf, `,"tool_choice":`...), choice...)
		}
		if p := r.Get("parallel_tool_calls"); p.Type == gjson.True || p.Type == gjson.False {
			c.buf = append(append(c.buf, `,"parallel_tool_calls":`...), p.Raw...)
		}
	}
	if f := r.Get("text.format"); f.IsObject() {
		switch f.Get("type").Str {
		case "json_schema":
			c.buf = append(c.buf, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
			name := f.Get("name").Str
			if name == "" {
				name = "response"
			}
			c.buf = appendJSONString(c.buf, name)
			for _, k := range [...]string{"schema", "strict", "description"} {
				if v := f.Get(k); v.Exists() {
					c.buf = append(append(append(append(c.buf, ",\""...), k...), "\":"...), v.Raw...)
				}
			}
			c.buf = append(c.buf, "}}"...)
		case "json_object":
			c.buf = append(c.buf, `,"response_format":{"type":"json_object"}`...)
		}
	}
	if e := r.Get("reasoning.effort"); e.Type == gjson.String {
		c.buf = append(append(c.buf, `,"reasoning_effort":`...), e.Raw...)
	}
	if m := r.Get("max_output_tokens"); m.Type == gjson.Number {
		c.buf = append(append(c.buf, `,"max_completion_tokens":`...), m.Raw...)
	}
	for _, k := range [...]string{"temperature", "top_p"} {
		if v := r.Get(k); v.Type == gjson.Number {
			c.buf = append(append(append(append(c.buf, ",\""...), k...), "\":"...), v.Raw...)
		}
	}
	if a.Stream {
		c.buf = append(c.buf, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(c.buf, '}'), nil
}

// chatBuilder writes the messages of a chat body, merging the function
// calls that follow an assistant message (or one another) into its
// tool_calls.
type chatBuilder struct {
	buf      []byte
	messages int
	// inMessage: a message object is open (its closing brace not yet
	// written); toolCalls: it is an assistant message whose tool_calls array
	// is open.
	inMessage, assistant, toolCalls bool
}

// open starts a message of role, closing the one before.
func (c *chatBuilder) open(role string) {
	c.close()
	if c.messages > 0 {
		c.buf = append(c.buf, ',')
	}
	c.messages++
	c.buf = append(c.buf, `{"role":`...)
	c.buf = appendJSONString(c.buf, role)
	c.inMessage, c.assistant = true, role == "assistant"
}

func (c *chatBuilder) close() {
	if c.toolCalls {
		c.buf = append(c.buf, ']')
		c.toolCalls = false
	}
	if c.inMessage {
		c.buf = append(c.buf, '}')
		c.inMessage, c.assistant = false, false
	}
}

// toolCall adds a call to the open assistant message, or to a new one.
func (c *chatBuilder) toolCall(id, name, args string) {
	if !c.inMessage || !c.assistant {
		c.open("assistant")
		c.buf = append(c.buf, `,"content":null`...)
	}
	if c.toolCalls {
		c.buf = append(c.buf, ',')
	} else {
		c.buf = append(c.buf, `,"tool_calls":[`...)
		c.toolCalls = true
	}
	c.buf = append(c.buf, `{"id":`...)
	c.buf = appendJSONString(c.buf, id)
	c.buf = append(c.buf, `,"type":"function","function":{"name":`...)
	c.buf = appendJSONString(c.buf, name)
	c.buf = append(c.buf, `,"arguments":`...)
	c.buf = appendJSONString(c.buf, args)
	c.buf = append(c.buf, "}}"...)
}

// item converts one input item.
func (b *responsesBridge) item(c *chatBuilder, item gjson.Result) error {
	if !item.IsObject() {
		return errors.New("input: every item must be an object")
	}
	typ := item.Get("type").Str
	if typ == "" && item.Get("role").Exists() {
		typ = "message"
	}
	switch typ {
	case "message":
		role := item.Get("role").Str
		switch role {
		case "developer", "system":
			role = "system"
		case "user", "assistant":
		default:
			return fmt.Errorf("input: unknown message role %q", role)
		}
		content, err := b.content(item.Get("content"), role)
		if err != nil {
			return err
		}
		c.open(role)
		c.buf = append(append(c.buf, `,"content":`...), content...)
	case "function_call":
		c.toolCall(item.Get("call_id").Str, flatName(item.Get("namespace").Str, item.Get("name").Str),
			item.Get("arguments").Str)
	case "function_call_output":
		c.open("tool")
		c.buf = append(c.buf, `,"tool_call_id":`...)
		c.buf = appendJSONString(c.buf, item.Get("call_id").Str)
		c.buf = append(c.buf, `,"content":`...)
		out := item.Get("output")
		if out.Type == gjson.String {
			c.buf = append(c.buf, out.Raw...)
		} else {
			c.buf = appendJSONString(c.buf, joinText(out))
		}
	case "item_reference":
		return b.refuse("it keeps no state, so input items cannot be references (item_reference)")
	default:
		// Reasoning items (their encrypted content is the producing
		// vendor's) and the records of built-in tool calls say nothing a
		// chat completions vendor can read.
	}
	return nil
}

// content converts a message's content: a string, or parts. The parts of
// system and assistant messages become one string (what every vendor takes
// there); a user's become chat parts.
func (b *responsesBridge) content(content gjson.Result, role string) ([]byte, error) {
	if content.Type == gjson.String {
		return []byte(content.Raw), nil
	}
	if !content.IsArray() {
		return nil, errors.New("input: a message's content must be a string or an array of parts")
	}
	if role != "user" {
		return appendJSONString(nil, joinText(content)), nil
	}
	out := []byte{'['}
	var err error
	content.ForEach(func(_, part gjson.Result) bool {
		if len(out) > 1 {
			out = append(out, ',')
		}
		switch t := part.Get("type").Str; t {
		case "input_text", "output_text", "text":
			out = append(out, `{"type":"text","text":`...)
			out = appendJSONString(out, part.Get("text").Str)
			out = append(out, '}')
		case "input_image":
			url := part.Get("image_url").Str
			if url == "" {
				err = b.refuse("an input_image must have an image_url (file ids need the vendor's file store)")
				return false
			}
			out = append(out, `{"type":"image_url","image_url":{"url":`...)
			out = appendJSONString(out, url)
			if d := part.Get("detail"); d.Type == gjson.String {
				out = append(append(out, `,"detail":`...), d.Raw...)
			}
			out = append(out, "}}"...)
		case "input_file":
			data := part.Get("file_data").Str
			if data == "" {
				err = b.refuse("an input_file must carry its file_data (file ids and URLs need the vendor's file store)")
				return false
			}
			out = append(out, `{"type":"file","file":{"file_data":`...)
			out = appendJSONString(out, data)
			if n := part.Get("filename"); n.Type == gjson.String {
				out = append(append(out, `,"filename":`...), n.Raw...)
			}
			out = append(out, "}}"...)
		default:
			err = fmt.Errorf("input: content part type %q is not supported", t)
			return false
		}
		return true
	})
	return append(out, ']'), err
}

// joinText is the text of a content or an output: a string, or the text of
// its parts (text, refusal), joined.
func joinText(v gjson.Result) string {
	if v.Type == gjson.String {
		return v.Str
	}
	var sb strings.Builder
	v.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String {
			sb.WriteString(t.Str)
		} else if t := part.Get("refusal"); t.Type == gjson.String {
			sb.WriteString(t.Str)
		}
		return true
	})
	return sb.String()
}

// flatName is the chat function name of a Responses function tool: its name,
// prefixed by its namespace (and "__") when it has one.
func flatName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "__" + name
}

// tools converts the function tools (namespaces flattened) and the
// tool_choice; it leaves out the built-in tools, and refuses a tool_choice
// that requires one of them. tools is nil when no function tool is left.
func (b *responsesBridge) tools(tools, choice gjson.Result) (out []byte, choiceOut string, err error) {
	var fn func(ns string, t gjson.Result)
	fn = func(ns string, t gjson.Result) {
		switch typ := t.Get("type").Str; {
		case typ == "function":
			name := flatName(ns, t.Get("name").Str)
			if ns != "" {
				if b.namespaced == nil {
					b.namespaced = map[string][2]string{}
				}
				b.namespaced[name] = [2]string{ns, t.Get("name").Str}
			}
			if out == nil {
				out = []byte{'['}
			} else {
				out = append(out, ',')
			}
			out = append(out, `{"type":"function","function":{"name":`...)
			out = appendJSONString(out, name)
			if d := t.Get("description"); d.Type == gjson.String {
				out = append(append(out, `,"description":`...), d.Raw...)
			}
			if p := t.Get("parameters"); p.IsObject() {
				out = append(append(out, `,"parameters":`...), p.Raw...)
			} else {
				out = append(out, `,"parameters":{"type":"object","properties":{}}`...)
			}
			if s := t.Get("strict"); s.Type == gjson.True || s.Type == gjson.False {
				out = append(append(out, `,"strict":`...), s.Raw...)
			}
			out = append(out, "}}"...)
		case typ == "namespace" && ns == "":
			t.Get("tools").ForEach(func(_, inner gjson.Result) bool {
				fn(t.Get("name").Str, inner)
				return true
			})
		default:
			if typ == "" {
				typ = "unknown"
			}
			b.dropped = append(b.dropped, typ)
		}
	}
	tools.ForEach(func(_, t gjson.Result) bool {
		fn("", t)
		return true
	})
	if out != nil {
		out = append(out, ']')
	}

	switch {
	case !choice.Exists() || choice.Type == gjson.Null:
	case choice.Type == gjson.String:
		if choice.Str == "required" && out == nil {
			return nil, "", b.refuse("tool_choice is required, but the only tools are built-in ones (%s), which it cannot run",
				strings.Join(b.dropped, ", "))
		}
		choiceOut = choice.Raw
	case choice.IsObject():
		switch typ := choice.Get("type").Str; typ {
		case "function":
			name := choice.Get("name").Str
			for flat, nn := range b.namespaced {
				if nn[1] == name {
					name = flat
				}
			}
			choiceOut = `{"type":"function","function":{"name":` + string(appendJSONString(nil, name)) + `}}`
		case "allowed_tools":
			choiceOut = `"auto"`
			if choice.Get("mode").Str == "required" {
				choiceOut = `"required"`
			}
		default:
			return nil, "", b.refuse("tool_choice requires the built-in tool %q, which it cannot run", typ)
		}
	}
	return out, choiceOut, nil
}

// ResponseHeaders names what the bridge left out.
func (b *responsesBridge) ResponseHeaders(h http.Header) {
	if len(b.dropped) > 0 {
		h.Set(HeaderDroppedTools, strings.Join(b.dropped, ", "))
	}
	if b.storeIgnored {
		h.Set(HeaderStoreIgnored, "true")
	}
}

// ErrorBody: the Responses API's errors are OpenAI's error object.
func (b *responsesBridge) ErrorBody(_ http.Header, _ int, openaiErr []byte) []byte { return openaiErr }

// itemID returns the id of the response's output item n, with prefix
// ("msg", "fc", "rs").
func (b *responsesBridge) itemID(prefix string, n int) string {
	return prefix + "_" + b.itemIDs + strconv.Itoa(n)
}

// appendUsage appends a ResponseUsage object.
func appendResponsesUsage(dst []byte, u billing.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.PromptTokens), 10)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CachedTokens), 10)
	dst = append(dst, `,"cache_write_tokens":0},"output_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CompletionTokens), 10)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.ReasoningTokens), 10)
	dst = append(dst, `},"total_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.TotalTokens()), 10)
	return append(dst, '}')
}

// appendResponse appends the response object: status, its output items (a
// raw JSON array), usage (nil: null), error (raw; "" for null) and the
// reason it is incomplete (""). Everything else echoes the request.
func (b *responsesBridge) appendResponse(dst []byte, status string, output []byte, u *billing.Usage, errObj []byte, incomplete string) []byte {
	r := b.req
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, b.id)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = strconv.AppendInt(dst, b.created, 10)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, status)
	if status == "completed" {
		dst = append(dst, `,"completed_at":`...)
		dst = strconv.AppendInt(dst, time.Now().Unix(), 10)
	}
	dst = append(dst, `,"error":`...)
	if errObj == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, errObj...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	if incomplete == "" {
		dst = append(dst, "null"...)
	} else {
		dst = append(append(append(dst, `{"reason":"`...), incomplete...), `"}`...)
	}
	dst = append(dst, `,"instructions":`...)
	dst = appendRawOr(dst, r.Get("instructions"), "null", gjson.String)
	dst = append(dst, `,"max_output_tokens":`...)
	dst = appendRawOr(dst, r.Get("max_output_tokens"), "null", gjson.Number)
	dst = append(dst, `,"model":`...)
	dst = appendJSONString(dst, b.a.Model)
	dst = append(dst, `,"output":`...)
	dst = append(dst, output...)
	dst = append(dst, `,"parallel_tool_calls":`...)
	dst = appendRawOr(dst, r.Get("parallel_tool_calls"), "true", gjson.True, gjson.False)
	dst = append(dst, `,"previous_response_id":null,"reasoning":`...)
	if re := r.Get("reasoning"); re.IsObject() {
		dst = append(dst, re.Raw...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"store":false,"temperature":`...)
	dst = appendRawOr(dst, r.Get("temperature"), "1", gjson.Number)
	dst = append(dst, `,"text":`...)
	if t := r.Get("text"); t.IsObject() && t.Get("format").IsObject() {
		dst = append(dst, t.Raw...)
	} else {
		dst = append(dst, `{"format":{"type":"text"}}`...)
	}
	dst = append(dst, `,"tool_choice":`...)
	if tc := r.Get("tool_choice"); tc.Type == gjson.String || tc.IsObject() {
		dst = append(dst, tc.Raw...)
	} else {
		dst = append(dst, `"auto"`...)
	}
	dst = append(dst, `,"tools":`...)
	dst = appendToolsEcho(dst, r.Get("tools"))
	dst = append(dst, `,"top_p":`...)
	dst = appendRawOr(dst, r.Get("top_p"), "1", gjson.Number)
	dst = append(dst, `,"truncation":"disabled","metadata":`...)
	if m := r.Get("metadata"); m.IsObject() {
		dst = append(dst, m.Raw...)
	} else {
		dst = append(dst, "{}"...)
	}
	if u != nil { // the usage object is not nullable: none yet is no member
		dst = append(dst, `,"usage":`...)
		dst = appendResponsesUsage(dst, *u)
	}
	return append(dst, '}')
}

// appendToolsEcho appends the request's tools as the response echoes them:
// as they came, function tools with the "strict" member the response object
// requires (null when the client left it out).
func appendToolsEcho(dst []byte, tools gjson.Result) []byte {
	if !tools.IsArray() {
		return append(dst, "[]"...)
	}
	dst = append(dst, '[')
	n := 0
	tools.ForEach(func(_, t gjson.Result) bool {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if t.Get("type").Str == "function" && !t.Get("strict").Exists() && t.IsObject() {
			if fixed, err := sjson.SetRaw(t.Raw, "strict", "null"); err == nil {
				dst = append(dst, fixed...)
				return true
			}
		}
		dst = append(dst, t.Raw...)
		return true
	})
	return append(dst, ']')
}

// appendRawOr appends v as it is when it is of one of the types, else def.
func appendRawOr(dst []byte, v gjson.Result, def string, types ...gjson.Type) []byte {
	for _, t := range types {
		if v.Type == t {
			return append(dst, v.Raw...)
		}
	}
	return append(dst, def...)
}

// Interface guards
var _ chatBridge = (*responsesBridge)(nil)
