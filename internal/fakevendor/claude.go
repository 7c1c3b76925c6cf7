package fakevendor

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Claude as the three fakes that serve it answer: the Anthropic API
// (AnthropicVendor), Bedrock's InvokeModel (BedrockVendor) and Vertex AI's
// rawPredict (GeminiVendor). The body, the answer and the stream's events
// are the same everywhere; what differs is the dialect: where the model and
// anthropic_version go, and how a stream is framed.

// claudeDialect is what differs between the places that serve Claude.
type claudeDialect struct {
	// version is the anthropic_version the body must carry; "" for the
	// Anthropic API, which takes it as a header.
	version string
	// modelInURL: the body has no "model" (Bedrock, Vertex AI).
	modelInURL bool
	// noStream: Bedrock, whose operation says whether to stream; "stream"
	// in the body is refused.
	noStream bool
}

var (
	claudeAPI     = claudeDialect{}
	claudeBedrock = claudeDialect{version: "bedrock-2023-05-31", modelInURL: true, noStream: true}
	claudeVertex  = claudeDialect{version: "vertex-2023-10-16", modelInURL: true}
)

// claudeTopLevel are the request fields the Messages API knows; any other
// is a 400 ("Extra inputs are not permitted").
var claudeTopLevel = map[string]bool{
	"model": true, "messages": true, "max_tokens": true, "system": true, "metadata": true,
	"stop_sequences": true, "stream": true, "temperature": true, "top_p": true, "top_k": true,
	"tools": true, "tool_choice": true, "thinking": true, "service_tier": true, "container": true,
	"mcp_servers": true, "context_management": true, "output_config": true, "output_format": true,
}

type claudeRequestBody struct {
	Model     string          `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	Messages  []claudeMessage `json:"messages"`
	Stream    bool            `json:"stream"`
}

type claudeMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type claudeBlock struct {
	Type      string  `json:"type"`
	Signature *string `json:"signature"`
	Data      string  `json:"data"`
	ID        *string `json:"id"`
	ToolUseID *string `json:"tool_use_id"`
}

// claudeToolID is the pattern Claude holds tool ids to.
var claudeToolID = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// claudeValidate checks a Messages body as Claude does first, in dialect d
// (count: a count_tokens body, which needs no max_tokens); it returns the
// error message, or "".
func claudeValidate(body []byte, d claudeDialect, count bool) (claudeRequestBody, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return claudeRequestBody{}, "There was an issue with your request body: invalid JSON"
	}
	for name, v := range fields {
		switch {
		case name == "anthropic_version" && d.version != "":
			var version string
			if json.Unmarshal(v, &version) != nil || version != d.version {
				return claudeRequestBody{}, "anthropic_version: Input should be '" + d.version + "'"
			}
		case name == "anthropic_beta" && d.noStream: // Bedrock takes the betas in the body
		case name == "model" && d.modelInURL, name == "stream" && d.noStream:
			return claudeRequestBody{}, "#: extraneous key [" + name + "] is not permitted"
		case !claudeTopLevel[name]:
			return claudeRequestBody{}, name + ": Extra inputs are not permitted"
		}
	}
	if _, ok := fields["anthropic_version"]; d.version != "" && !ok {
		return claudeRequestBody{}, "anthropic_version: Field required"
	}
	var req claudeRequestBody
	if err := json.Unmarshal(body, &req); err != nil {
		return req, "There was an issue with your request body: " + err.Error()
	}
	switch {
	case req.Model == "" && !d.modelInURL:
		return req, "model: Field required"
	case req.MaxTokens == nil && !count:
		return req, "max_tokens: Field required"
	case req.MaxTokens != nil && *req.MaxTokens < 1:
		return req, "max_tokens: Input should be greater than or equal to 1"
	case len(req.Messages) == 0:
		return req, "messages: at least one message is required"
	}
	return req, claudeValidateBlocks(req.Messages)
}

// claudeValidateBlocks refuses what Claude refuses in a conversation's
// blocks: thinking it did not sign (a signature it cannot verify; the fake
// takes standard base64 of 16 bytes or more as Claude's) and tool ids
// outside its pattern.
func claudeValidateBlocks(msgs []claudeMessage) string {
	for i, m := range msgs {
		var blocks []claudeBlock
		if json.Unmarshal(m.Content, &blocks) != nil {
			continue // a string
		}
		for j, b := range blocks {
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			switch b.Type {
			case "thinking":
				if b.Signature == nil {
					return at + ".thinking.signature: Field required"
				}
				if !claudeSigned(*b.Signature) {
					return at + ": Invalid `signature` in `thinking` block"
				}
			case "redacted_thinking":
				if !claudeSigned(b.Data) {
					return at + ": Invalid `data` in `redacted_thinking` block"
				}
			case "tool_use":
				if b.ID == nil || !claudeToolID.MatchString(*b.ID) {
					return at + ".tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
				}
			case "tool_result":
				if b.ToolUseID == nil || !claudeToolID.MatchString(*b.ToolUseID) {
					return at + ".tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
				}
			}
		}
	}
	return ""
}

// claudeSigned reports whether s is a signature the fake takes as Claude's.
func claudeSigned(s string) bool {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && len(b) >= 16
}

// ClaudeSignature returns a new signature of the form Claude's have
// (base64 of an opaque message), which every fake that serves Claude takes.
func ClaudeSignature() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	b[0] = 0x12
	return base64.StdEncoding.EncodeToString(b)
}

// claudeAnswer is what a Claude fake answers with, in any dialect.
type claudeAnswer struct {
	Name, Reply, Thinking string
	ToolCall              *AnthropicToolCall
	StopReason            string
	InputTokens           int
	OutputTokens          int
	CacheRead, CacheWrite int
}

// anthropicMessage is one answer, shared by the JSON and the stream.
type anthropicMessage struct {
	id, model, stop   string
	thinking          []string // thinking_delta chunks
	signature         string   // the thinking block's
	chunks            []string // text deltas
	tool              *AnthropicToolCall
	toolParts         []string // input_json_delta fragments
	inputTokens       int
	outputTokens      int
	cacheRead, create int
}

func anthropicNewMessage(o claudeAnswer, model string, bodyLen int) anthropicMessage {
	m := anthropicMessage{id: newID("msg_fake"), model: model, stop: "end_turn",
		inputTokens: o.InputTokens, cacheRead: o.CacheRead, create: o.CacheWrite}
	reply := o.Reply
	if reply == "" && o.ToolCall == nil {
		name := o.Name
		if name == "" {
			name = "anthropic"
		}
		reply = "Hello from " + name + "."
	}
	m.chunks = splitWords(reply)
	if m.thinking = splitWords(o.Thinking); len(m.thinking) > 0 {
		m.signature = ClaudeSignature()
	}
	if o.ToolCall != nil {
		tc := *o.ToolCall
		if tc.ID == "" {
			tc.ID = newID("toolu_")
		}
		if strings.TrimSpace(tc.Input) == "" {
			tc.Input = "{}"
		}
		m.tool, m.stop = &tc, "tool_use"
		// A few fragments, cut anywhere, as Anthropic does.
		in := tc.Input
		step := max(1, (len(in)+2)/3)
		for len(in) > 0 {
			n := min(step, len(in))
			m.toolParts = append(m.toolParts, in[:n])
			in = in[n:]
		}
	}
	if o.StopReason != "" {
		m.stop = o.StopReason
	}
	if m.inputTokens == 0 {
		m.inputTokens = bodyLen / 4
	}
	m.outputTokens = o.OutputTokens
	if m.outputTokens == 0 {
		m.outputTokens = len(m.thinking) + len(m.chunks) + len(m.toolParts)
	}
	return m
}

func (m anthropicMessage) usage(output int) map[string]int {
	return map[string]int{
		"input_tokens":                m.inputTokens,
		"cache_creation_input_tokens": m.create,
		"cache_read_input_tokens":     m.cacheRead,
		"output_tokens":               output,
	}
}

// json is the non-streaming answer.
func (m anthropicMessage) json() map[string]any {
	content := []any{}
	if len(m.thinking) > 0 {
		content = append(content, map[string]any{"type": "thinking", "thinking": strings.Join(m.thinking, ""),
			"signature": m.signature})
	}
	if len(m.chunks) > 0 {
		content = append(content, map[string]any{"type": "text", "text": strings.Join(m.chunks, "")})
	}
	if m.tool != nil {
		content = append(content, map[string]any{"type": "tool_use", "id": m.tool.ID, "name": m.tool.Name,
			"input": json.RawMessage(m.tool.Input)})
	}
	return map[string]any{
		"id": m.id, "type": "message", "role": "assistant", "model": m.model, "content": content,
		"stop_reason": m.stop, "stop_sequence": nil, "usage": m.usage(m.outputTokens),
	}
}

// claudeEmitter receives a stream's events, whatever frames them.
type claudeEmitter struct {
	// send writes one event; false stops the stream.
	send func(event string, data map[string]any) bool
	// pause waits before a delta; false stops the stream.
	pause func() bool
	// failAfter, when fail is set, is the number of text deltas after
	// which fail ends the stream with an error.
	failAfter int
	fail      func() bool
}

// events sends the stream's events: message_start, the thinking block
// (thinking_delta…, signature_delta), the text block with a ping,
// the tool_use block (input_json_delta…), message_delta, message_stop. It
// reports false when the stream was stopped. last, if set, adds members to
// message_stop (Bedrock's invocation metrics).
func (m anthropicMessage) events(e claudeEmitter, last map[string]any) bool {
	start := m.json()
	start["content"], start["stop_reason"] = []any{}, nil
	start["usage"] = m.usage(1)
	if !e.send("message_start", map[string]any{"type": "message_start", "message": start}) {
		return false
	}
	block := func(index int, cb map[string]any, deltas []map[string]any) bool {
		if !e.send("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": cb}) {
			return false
		}
		for _, d := range deltas {
			if !e.pause() || !e.send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index, "delta": d}) {
				return false
			}
		}
		return e.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
	}
	index := 0
	if len(m.thinking) > 0 {
		var deltas []map[string]any
		for _, c := range m.thinking {
			deltas = append(deltas, map[string]any{"type": "thinking_delta", "thinking": c})
		}
		deltas = append(deltas, map[string]any{"type": "signature_delta", "signature": m.signature})
		if !block(index, map[string]any{"type": "thinking", "thinking": "", "signature": ""}, deltas) {
			return false
		}
		index++
	}
	if len(m.chunks) > 0 {
		if !e.send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "text", "text": ""}}) ||
			!e.send("ping", map[string]any{"type": "ping"}) {
			return false
		}
		for i, c := range m.chunks {
			if e.fail != nil && i == e.failAfter {
				break
			}
			if !e.pause() || !e.send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "text_delta", "text": c}}) {
				return false
			}
		}
	}
	if e.fail != nil {
		return e.pause() && e.fail()
	}
	if len(m.chunks) > 0 {
		if !e.send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index}) {
			return false
		}
		index++
	}
	if m.tool != nil {
		deltas := []map[string]any{{"type": "input_json_delta", "partial_json": ""}}
		for _, part := range m.toolParts {
			deltas = append(deltas, map[string]any{"type": "input_json_delta", "partial_json": part})
		}
		if !block(index, map[string]any{"type": "tool_use", "id": m.tool.ID, "name": m.tool.Name, "input": map[string]any{}}, deltas) {
			return false
		}
	}
	if !e.send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": m.stop, "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": m.outputTokens}}) {
		return false
	}
	stop := map[string]any{"type": "message_stop"}
	for k, v := range last {
		stop[k] = v
	}
	return e.send("message_stop", stop)
}
