package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
	"github.com/caddy-llm/llmrouter/internal/meter"
)

// anthropic is Anthropic's native Messages API (POST /v1/messages), the one
// Anthropic recommends for production (its OpenAI-compatible endpoint is
// "for testing and comparison"). Clients keep speaking OpenAI chat
// completions: see openai_anthropic.go.
func init() {
	register(&kind{
		name:           "anthropic",
		defaultBaseURL: "https://api.anthropic.com",
		settings:       settingMaxTokens,
		backend:        newAnthropicBackend,
	})
}

// anthropicBackend is an anthropic vendor.
type anthropicBackend struct {
	maxTokens int // max_tokens when the client sends none
	// path and rawPath are the Messages endpoint's. A base URL that already
	// ends in /v1 (a common way to write Anthropic's, or a gateway's) gets
	// only /messages.
	path, rawPath string
	// countPath and countRawPath are count_tokens', beside it.
	countPath, countRawPath string
}

func newAnthropicBackend(v *Vendor, c Config) (backend, *ConfigError) {
	suffix := "/v1/messages"
	if strings.HasSuffix(v.basePath, "/v1") {
		suffix = "/messages"
	}
	b := &anthropicBackend{maxTokens: maxTokensOr(c.DefaultMaxTokens)}
	b.path, b.rawPath = v.below(suffix, suffix)
	b.countPath, b.countRawPath = v.below(suffix+"/count_tokens", suffix+"/count_tokens")
	return b, nil
}

func (b *anthropicBackend) serves(e Endpoint) bool {
	return e == ChatCompletions || e == Messages || e == CountTokens
}

func (b *anthropicBackend) classify(status int, body []byte) (Verdict, bool) {
	return anthropicClassify(status, body)
}

// anthropicPlaceholder is the text of the user turn put in front of a
// conversation that does not start with one (it starts with an assistant
// message, or has only system messages): Anthropic requires the first turn
// to be the user's.
const anthropicPlaceholder = "..."

// Wire types of the Messages request.
type anthropicRequest struct {
	Model         string               `json:"model,omitempty"`
	MaxTokens     int                  `json:"max_tokens"`
	System        string               `json:"system,omitempty"`
	Messages      []anthropicTurn      `json:"messages"`
	Temperature   *float64             `json:"temperature,omitempty"`
	TopP          *float64             `json:"top_p,omitempty"`
	StopSequences []string             `json:"stop_sequences,omitempty"`
	Tools         []anthropicTool      `json:"tools,omitempty"`
	ToolChoice    *anthropicToolChoice `json:"tool_choice,omitempty"`
	Thinking      *anthropicThinking   `json:"thinking,omitempty"`
	Stream        bool                 `json:"stream,omitempty"`
}

type anthropicTurn struct {
	Role    string           `json:"role"`
	Content []anthropicBlock `json:"content"`
}

// anthropicBlock is one content block: text, image, tool_use or tool_result.
type anthropicBlock struct {
	Type      string           `json:"type"`
	Text      string           `json:"text,omitempty"`
	Source    *anthropicSource `json:"source,omitempty"`
	ID        string           `json:"id,omitempty"`
	Name      string           `json:"name,omitempty"`
	Input     json.RawMessage  `json:"input,omitempty"`
	ToolUseID string           `json:"tool_use_id,omitempty"`
	Content   any              `json:"content,omitempty"` // tool_result: a string, or blocks when it has images
}

type anthropicSource struct {
	Type      string `json:"type"` // base64 or url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicToolChoice struct {
	Type                   string `json:"type"` // auto, any, tool, none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// anthropicMessagesBody translates a parsed OpenAI chat request into an
// Anthropic Messages body. model "" leaves the "model" field out (Claude on
// Vertex AI and Bedrock InvokeModel name the model in the URL and add their
// own "anthropic_version" to this body). defaultMax is max_tokens when the
// client gives none (Anthropic requires it). stream sets "stream": true.
//
// The mapping:
//
//   - system and developer messages, in order, become the top-level
//     "system" string, joined by "\n";
//   - user and assistant content parts become text and image blocks (an
//     image data URL becomes a base64 source, an http(s) URL a url source);
//     empty and whitespace-only text blocks are dropped, as Anthropic
//     rejects them;
//   - assistant tool_calls become tool_use blocks whose input is the parsed
//     arguments (empty or null arguments are {}; arguments that are not a
//     JSON object are an error, since silently sending {} would change what
//     the model sees it called);
//   - tool messages become tool_result blocks in a user turn; consecutive
//     turns of the same role are merged (so consecutive tool results, and a
//     user message right after them, share one user turn), and within a user
//     turn tool results come first, as Anthropic requires;
//   - tool call ids are kept, except that characters outside [A-Za-z0-9_-]
//     (which Anthropic rejects, and some vendors use) become '_', the same
//     way in tool_use and tool_result so that they still pair;
//   - a conversation that does not start with a user turn gets a placeholder
//     user turn ("...") in front;
//   - max_completion_tokens, else max_tokens, else defaultMax → max_tokens;
//   - temperature is clamped to Anthropic's [0, 1] (not scaled: 0.7 means
//     the same on both APIs, and Anthropic's own compatibility layer clamps
//     too); top_p is sent only without temperature, because recent Claude
//     models reject the two together;
//   - stop → stop_sequences; tools → tools (input_schema defaults to
//     {"type":"object"}); tool_choice auto/required/function/none →
//     auto/any/tool/none, and parallel_tool_calls false →
//     disable_parallel_tool_use; both are dropped without tools, which
//     Anthropic requires;
//   - reasoning_effort low, medium, high (and xhigh) enable extended
//     thinking with a budget of 1K, 8K or 24K tokens within the client's
//     max tokens (claudeThinking, reasoning.go says when it stays off);
//     thinking takes neither temperature nor top_p, which are then left
//     out; the thinking comes back as reasoning_content;
//   - n > 1 is an error; every other OpenAI field (response_format, seed,
//     logprobs, user, stream_options...) is dropped, because Anthropic
//     rejects unknown fields.
func anthropicMessagesBody(r chatRequest, model string, defaultMax int, stream bool) ([]byte, error) {
	if r.N > 1 {
		return nil, errors.New("n>1 is not supported by this vendor (it returns a single choice)")
	}
	req := anthropicRequest{Model: model, MaxTokens: r.MaxTokens, Stream: stream}
	if req.MaxTokens == 0 {
		req.MaxTokens = defaultMax
	}
	if sys := r.systemText(); strings.TrimSpace(sys) != "" {
		req.System = sys
	}

	var err error
	if req.Messages, err = anthropicTurns(r.Messages); err != nil {
		return nil, err
	}

	if r.Temperature != nil {
		t := min(max(*r.Temperature, 0), 1)
		req.Temperature = &t
	} else if r.TopP != nil {
		p := *r.TopP
		req.TopP = &p
	}
	for _, s := range r.Stop {
		if s != "" {
			req.StopSequences = append(req.StopSequences, s)
		}
	}

	if len(r.Tools) > 0 {
		req.Tools = make([]anthropicTool, 0, len(r.Tools))
		for _, t := range r.Tools {
			schema, err := anthropicInputSchema(t.Parameters)
			if err != nil {
				return nil, fmt.Errorf("tool %q: parameters %v", t.Name, err)
			}
			req.Tools = append(req.Tools, anthropicTool{Name: t.Name, Description: t.Description, InputSchema: schema})
		}
		req.ToolChoice = anthropicChoice(r.ToolChoice, r.ParallelToolCalls)
	}
	if req.Thinking, req.MaxTokens = claudeThinking(&r, req.MaxTokens); req.Thinking != nil {
		req.Temperature, req.TopP = nil, nil
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// anthropicChoice maps tool_choice and parallel_tool_calls; nil sends none.
func anthropicChoice(c toolChoice, parallel *bool) *anthropicToolChoice {
	var tc anthropicToolChoice
	switch c.Mode {
	case "":
		tc.Type = "auto"
	case "auto":
		tc.Type = "auto"
	case "required":
		tc.Type = "any"
	case "function":
		tc.Type, tc.Name = "tool", c.Name
	case "none":
		return &anthropicToolChoice{Type: "none"} // takes no disable_parallel_tool_use
	}
	if parallel != nil && !*parallel {
		tc.DisableParallelToolUse = true
	} else if c.Mode == "" {
		return nil // Anthropic's default is auto
	}
	return &tc
}

// anthropicInputSchema is a tool's parameters as Anthropic's input_schema,
// which must be an object schema: absent parameters are {"type":"object"},
// and an object schema without "type" gets it.
func anthropicInputSchema(params json.RawMessage) (json.RawMessage, error) {
	p := bytes.TrimSpace(params)
	if len(p) == 0 || string(p) == "null" {
		return json.RawMessage(`{"type":"object"}`), nil
	}
	root := gjson.ParseBytes(p)
	if !root.IsObject() || !jsonwalk.Valid(p) {
		return nil, errors.New("must be a JSON Schema object")
	}
	if !root.Get("type").Exists() {
		out, err := sjson.SetBytes(bytes.Clone(p), "type", "object")
		return out, err
	}
	return p, nil
}

// anthropicTurns turns the non-system messages into alternating turns.
func anthropicTurns(msgs []chatMessage) ([]anthropicTurn, error) {
	turns := make([]anthropicTurn, 0, len(msgs))
	add := func(role string, blocks ...anthropicBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(turns); n > 0 && turns[n-1].Role == role {
			turns[n-1].Content = append(turns[n-1].Content, blocks...)
			return
		}
		turns = append(turns, anthropicTurn{Role: role, Content: blocks})
	}
	system := 0
	for i, m := range msgs {
		switch m.Role {
		case "system", "developer":
			system++
		case "user":
			blocks, err := anthropicParts(m.Parts)
			if err != nil {
				return nil, fmt.Errorf("messages[%d].content: %v", i, err)
			}
			add("user", blocks...)
		case "assistant":
			blocks, err := anthropicParts(m.Parts)
			if err != nil {
				return nil, fmt.Errorf("messages[%d].content: %v", i, err)
			}
			for j, tc := range m.ToolCalls {
				input, err := anthropicToolInput(tc.Arguments)
				if err != nil {
					return nil, fmt.Errorf("messages[%d].tool_calls[%d].function.arguments: %v", i, j, err)
				}
				blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: anthropicToolID(tc.ID), Name: tc.Name, Input: input})
			}
			add("assistant", blocks...)
		case "tool":
			parts, err := anthropicParts(m.Parts)
			if err != nil {
				return nil, fmt.Errorf("messages[%d].content: %v", i, err)
			}
			result := anthropicBlock{Type: "tool_result", ToolUseID: anthropicToolID(m.ToolCallID)}
			if anthropicAllText(parts) {
				if text := m.Text(); strings.TrimSpace(text) != "" {
					result.Content = text
				}
			} else {
				result.Content = parts
			}
			add("user", result)
		default:
			return nil, fmt.Errorf("messages[%d].role %q is not supported by this vendor", i, m.Role)
		}
	}
	for i := range turns {
		if turns[i].Role == "user" {
			anthropicToolResultsFirst(turns[i].Content)
		}
	}
	if len(turns) > 0 && turns[0].Role == "user" || len(turns) == 0 && system == 0 {
		// An empty conversation is left for Anthropic to reject.
		return turns, nil
	}
	placeholder := anthropicTurn{Role: "user", Content: []anthropicBlock{{Type: "text", Text: anthropicPlaceholder}}}
	return append([]anthropicTurn{placeholder}, turns...), nil
}

// anthropicParts converts content parts to text and image blocks, dropping
// blank text.
func anthropicParts(parts []contentPart) ([]anthropicBlock, error) {
	blocks := make([]anthropicBlock, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case partText:
			if strings.TrimSpace(p.Text) != "" {
				blocks = append(blocks, anthropicBlock{Type: "text", Text: p.Text})
			}
		case partImage:
			src, err := anthropicImageSource(p.ImageURL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, anthropicBlock{Type: "image", Source: src})
		}
	}
	return blocks, nil
}

// anthropicImageSource maps an image_url: a base64 data URL or an http(s) URL.
func anthropicImageSource(u string) (*anthropicSource, error) {
	if mediaType, data, ok := parseDataURL(u); ok {
		return &anthropicSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &anthropicSource{Type: "url", URL: u}, nil
	}
	return nil, errors.New("image_url must be an http(s) URL or a base64 data URL")
}

func anthropicAllText(blocks []anthropicBlock) bool {
	for _, b := range blocks {
		if b.Type != "text" {
			return false
		}
	}
	return true
}

// anthropicToolResultsFirst moves a user turn's tool_result blocks in front
// of its other blocks, keeping both groups' order.
func anthropicToolResultsFirst(blocks []anthropicBlock) {
	rank := func(b anthropicBlock) int {
		if b.Type == "tool_result" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(blocks, func(a, b anthropicBlock) int { return rank(a) - rank(b) })
}

// anthropicToolInput parses a tool call's arguments into tool_use input.
func anthropicToolInput(args string) (json.RawMessage, error) {
	a := strings.TrimSpace(args)
	if a == "" || a == "null" {
		return json.RawMessage("{}"), nil
	}
	if !jsonwalk.ValidString(a) || !gjson.Parse(a).IsObject() {
		return nil, errors.New("must be a JSON object")
	}
	return json.RawMessage(a), nil
}

// anthropicToolID makes a tool call id acceptable to Anthropic
// (^[a-zA-Z0-9_-]+$), replacing other bytes with '_'.
func anthropicToolID(id string) string {
	for i := 0; i < len(id); i++ {
		if !anthropicIDByte(id[i]) {
			b := []byte(id)
			for j := i; j < len(b); j++ {
				if !anthropicIDByte(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return id
}

func anthropicIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// anthropicCompletion translates a non-streaming Messages answer into an
// OpenAI chat.completion object whose model is model.
func anthropicCompletion(model string, body []byte) ([]byte, error) {
	c, err := anthropicCompletionOf(model, body)
	if err != nil {
		return nil, err
	}
	return c.render(), nil
}

// anthropicCompletionOf reads a Messages answer: text blocks are the
// content, thinking blocks the reasoning, tool_use blocks the tool calls
// (arguments = the input as compact JSON). Other blocks (redacted thinking,
// server tools and their results) have no OpenAI counterpart and are left
// out.
func anthropicCompletionOf(model string, body []byte) (Completion, error) {
	if !jsonwalk.Valid(body) {
		return Completion{}, fmt.Errorf("%w: the answer is not JSON", errNativeStream)
	}
	root := gjson.ParseBytes(body)
	if t := root.Get("type").String(); t != "message" {
		if t == "error" {
			return Completion{}, fmt.Errorf("vendor error in a 200 answer: %s", ErrorMessage(body))
		}
		return Completion{}, fmt.Errorf("%w: the answer is not a message", errNativeStream)
	}
	c := Completion{ID: root.Get("id").String(), Model: model,
		FinishReason: anthropicFinishReason(root.Get("stop_reason").String())}
	var text, thinking strings.Builder
	for _, b := range root.Get("content").Array() {
		switch b.Get("type").String() {
		case "text":
			text.WriteString(b.Get("text").String())
		case "thinking":
			thinking.WriteString(b.Get("thinking").String())
		case "tool_use":
			args := "{}"
			if in := b.Get("input"); in.Exists() {
				var buf bytes.Buffer
				if json.Compact(&buf, []byte(in.Raw)) == nil {
					args = buf.String()
				}
			}
			c.ToolCalls = append(c.ToolCalls, ToolCall{ID: b.Get("id").String(), Name: b.Get("name").String(), Arguments: args})
		}
	}
	c.Content, c.Reasoning = text.String(), thinking.String()
	var u anthropicUsage
	u.set(root.Get("usage"))
	c.Usage = u.openAI()
	return c, nil
}

// anthropicFinishReason maps a stop_reason to an OpenAI finish_reason.
// pause_turn (a server tool paused the turn) is not a true stop, but the
// client can only continue it like a stopped turn.
func anthropicFinishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, pause_turn, unknown
}

// anthropicUsage is Anthropic's token usage.
type anthropicUsage struct {
	input, cacheWrite, cacheRead, output int
}

// set takes the numbers present in a usage object (message, message_start
// or the cumulative message_delta usage), keeping the others.
func (u *anthropicUsage) set(r gjson.Result) {
	if !r.IsObject() {
		return
	}
	for _, f := range [...]struct {
		path string
		dst  *int
	}{
		{"input_tokens", &u.input},
		{"cache_creation_input_tokens", &u.cacheWrite},
		{"cache_read_input_tokens", &u.cacheRead},
		{"output_tokens", &u.output},
	} {
		if v := r.Get(f.path); v.Type == gjson.Number {
			*f.dst = int(v.Int())
		}
	}
}

// openAI converts: cache writes and reads are prompt tokens too.
func (u anthropicUsage) openAI() billing.Usage {
	return billing.Usage{PromptTokens: u.input + u.cacheWrite + u.cacheRead, CachedTokens: u.cacheRead, CompletionTokens: u.output}
}

// anthropicErrorMessage reads {"type":"error","error":{"type","message"}}.
func anthropicErrorMessage(body []byte) (errType, message string) {
	e, _ := meter.ReadError(body)
	return e.Type, truncateUTF8(e.Message, maxMessageBytes)
}

// anthropicClassify recognises Anthropic's account-level and overload
// errors:
//
//   - 529 or an overloaded_error of any status: Anthropic-wide overload;
//   - billing_error (402), a 429 with error.details.error_code
//     "enforced_spend_limit_reached" (the monthly spend cap, lasting until
//     the next month), and the 400s "Your credit balance is too low..." and
//     "You have reached your specified API usage limits...": quota, failed
//     over and cooled down for long.
//
// All are read from the structured error (type, details, the start of the
// message), so text a client put in its request cannot trigger them.
func anthropicClassify(status int, body []byte) (Verdict, bool) {
	e := errorRoot(body).Get("error")
	typ := e.Get("type").String()
	switch {
	case status == 529 || typ == "overloaded_error":
		return Verdict{true, ReasonOverloaded}, true
	case typ == "billing_error":
		return Verdict{true, ReasonQuota}, true
	case status == http.StatusTooManyRequests && e.Get("details.error_code").String() == "enforced_spend_limit_reached":
		return Verdict{true, ReasonQuota}, true
	case status == http.StatusBadRequest:
		msg := e.Get("message").String()
		if strings.HasPrefix(msg, "Your credit balance is too low") ||
			strings.HasPrefix(msg, "You have reached your specified API usage limits") {
			return Verdict{true, ReasonQuota}, true
		}
	}
	return Verdict{}, false
}

// Interface guards
var _ backend = (*anthropicBackend)(nil)
