package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Anthropic's Messages API to chat completions, for the vendors that do not
// serve Claude: the request is rewritten as a chat completions request
// (messagesChatRequest), which the vendor's own chat translation then sends,
// and the chat answer is rewritten as a Messages answer (messages_answer.go).

// wire types of the chat completions request the bridge writes.
type bridgeChatRequest struct {
	Model             string              `json:"model"`
	Messages          []bridgeChatMessage `json:"messages"`
	MaxTokens         int                 `json:"max_tokens,omitempty"`
	Temperature       *float64            `json:"temperature,omitempty"`
	TopP              *float64            `json:"top_p,omitempty"`
	Stop              []string            `json:"stop,omitempty"`
	Tools             []bridgeChatTool    `json:"tools,omitempty"`
	ToolChoice        any                 `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool               `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort   string              `json:"reasoning_effort,omitempty"`
	User              string              `json:"user,omitempty"`
	Stream            bool                `json:"stream,omitempty"`
	StreamOptions     *bridgeStreamOpts   `json:"stream_options,omitempty"`
}

type bridgeStreamOpts struct {
	IncludeUsage bool `json:"include_usage"`
}

type bridgeChatMessage struct {
	Role       string           `json:"role"`
	Content    any              `json:"content"` // a string, parts, or null beside tool calls
	ToolCalls  []bridgeToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

type bridgeChatPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text,omitempty"`
	ImageURL *bridgeImageURL `json:"image_url,omitempty"`
}

type bridgeImageURL struct {
	URL string `json:"url"`
}

type bridgeToolCall struct {
	ID       string             `json:"id"`
	Type     string             `json:"type"`
	Function bridgeToolFunction `json:"function"`
}

type bridgeToolFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type bridgeChatTool struct {
	Type     string             `json:"type"`
	Function bridgeFunctionDecl `json:"function"`
}

type bridgeFunctionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// messagesChatRequest rewrites a Messages body as a chat completions body
// for model:
//
//   - system (a string or text blocks) → a system message, and so does a
//     system turn in messages (the mid-conversation-system beta);
//   - user turns: text blocks → text parts, image blocks → image_url parts
//     (a base64 source as a data URL), tool_result blocks → tool messages
//     (before the turn's other content, as chat completions wants them
//     right after the assistant's tool calls; their text joined, is_error
//     said in front);
//   - assistant turns: text → content, tool_use → tool_calls (arguments =
//     the input as compact JSON); thinking and redacted_thinking blocks are
//     left out: their signatures are Claude's, which no other vendor can
//     read (replay safety, as sanitize.go does for chat);
//   - tools (custom tools: name, description, input_schema) → function
//     tools; Anthropic's server and client tools (a "type" such as
//     web_search_20250305 or bash_20250124) have no chat counterpart and are
//     left out;
//   - tool_choice auto/any/tool/none → auto/required/{function}/none,
//     disable_parallel_tool_use → parallel_tool_calls false;
//   - max_tokens, temperature, top_p, stop_sequences → stop, metadata.user_id
//     → user; thinking (enabled) → reasoning_effort where takesEffort says
//     the vendor's model takes it (budget below 4096 tokens: low, below
//     16384: medium, else high);
//   - stream → stream, with stream_options.include_usage (the router meters
//     the answer).
//
// Other members (top_k, service_tier, container, mcp_servers...) have no
// chat counterpart and are left out. A body the rewrite cannot read is an
// error whose message is for the client.
func messagesChatRequest(body []byte, model string, stream, takesEffort bool) ([]byte, error) {
	if !jsonwalk.Valid(body) {
		return nil, errors.New("the request body is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, errors.New("the request body must be a JSON object")
	}
	req := bridgeChatRequest{Model: model, Stream: stream}
	if stream {
		req.StreamOptions = &bridgeStreamOpts{IncludeUsage: true}
	}
	if n := root.Get("max_tokens"); n.Type == gjson.Number {
		req.MaxTokens = int(n.Int())
	}
	if t := root.Get("temperature"); t.Type == gjson.Number {
		v := t.Float()
		req.Temperature = &v
	}
	if p := root.Get("top_p"); p.Type == gjson.Number {
		v := p.Float()
		req.TopP = &v
	}
	for _, s := range root.Get("stop_sequences").Array() {
		if s.Type == gjson.String && s.Str != "" {
			req.Stop = append(req.Stop, s.Str)
		}
	}
	if u := root.Get("metadata.user_id"); u.Type == gjson.String {
		req.User = u.Str
	}
	if th := root.Get("thinking"); takesEffort && th.Get("type").String() == "enabled" {
		req.ReasoningEffort = reasoningEffortOf(th.Get("budget_tokens").Int())
	}

	if sys := messagesText(root.Get("system")); strings.TrimSpace(sys) != "" {
		req.Messages = append(req.Messages, bridgeChatMessage{Role: "system", Content: sys})
	}
	msgs := root.Get("messages")
	if !msgs.IsArray() || len(msgs.Array()) == 0 {
		return nil, errors.New("messages: at least one message is required")
	}
	turns := 0 // user, assistant and tool messages: a system one alone is no conversation
	for i, m := range msgs.Array() {
		converted, err := messagesTurn(m)
		if err != nil {
			return nil, fmt.Errorf("messages[%d]: %v", i, err)
		}
		for _, c := range converted {
			if c.Role != "system" {
				turns++
			}
		}
		req.Messages = append(req.Messages, converted...)
	}
	if turns == 0 {
		return nil, errors.New("messages: the conversation has no content")
	}

	for _, t := range root.Get("tools").Array() {
		if typ := t.Get("type").String(); typ != "" && typ != "custom" {
			continue // a server or client tool of Anthropic's
		}
		decl := bridgeFunctionDecl{Name: t.Get("name").String(), Description: t.Get("description").String()}
		if s := t.Get("input_schema"); s.IsObject() {
			decl.Parameters = json.RawMessage(s.Raw)
		}
		req.Tools = append(req.Tools, bridgeChatTool{Type: "function", Function: decl})
	}
	if len(req.Tools) > 0 {
		tc := root.Get("tool_choice")
		switch tc.Get("type").String() {
		case "auto":
			req.ToolChoice = "auto"
		case "any":
			req.ToolChoice = "required"
		case "none":
			req.ToolChoice = "none"
		case "tool":
			req.ToolChoice = map[string]any{"type": "function", "function": map[string]string{"name": tc.Get("name").String()}}
		}
		if tc.Get("disable_parallel_tool_use").Bool() {
			f := false
			req.ParallelToolCalls = &f
		}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// reasoningEffortOf maps a thinking budget to a reasoning effort.
func reasoningEffortOf(budget int64) string {
	switch {
	case budget < 4096:
		return "low"
	case budget < 16384:
		return "medium"
	}
	return "high"
}

// messagesText joins the text of a string or an array of text blocks.
func messagesText(v gjson.Result) string {
	if v.Type == gjson.String {
		return v.Str
	}
	var b strings.Builder
	for _, block := range v.Array() {
		if block.Get("type").String() == "text" {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(block.Get("text").String())
		}
	}
	return b.String()
}

// messagesTurn rewrites one Messages turn as chat messages.
func messagesTurn(m gjson.Result) ([]bridgeChatMessage, error) {
	role := m.Get("role").String()
	content := m.Get("content")
	if role == "system" {
		// A system turn inside the conversation (Claude Code sends them,
		// beta mid-conversation-system): chat's system message, in place.
		return []bridgeChatMessage{{Role: "system", Content: messagesText(content)}}, nil
	}
	if role != "user" && role != "assistant" {
		return nil, fmt.Errorf("role %q is not user or assistant", role)
	}
	if content.Type == gjson.String {
		return []bridgeChatMessage{{Role: role, Content: content.Str}}, nil
	}
	if !content.IsArray() {
		return nil, errors.New("content must be a string or an array of content blocks")
	}
	var (
		out   []bridgeChatMessage
		parts []bridgeChatPart
		calls []bridgeToolCall
		text  strings.Builder
	)
	for j, b := range content.Array() {
		switch typ := b.Get("type").String(); typ {
		case "text":
			if role == "assistant" {
				text.WriteString(b.Get("text").String())
			} else {
				parts = append(parts, bridgeChatPart{Type: "text", Text: b.Get("text").String()})
			}
		case "image":
			u, err := messagesImageURL(b.Get("source"))
			if err != nil {
				return nil, fmt.Errorf("content[%d]: %v", j, err)
			}
			parts = append(parts, bridgeChatPart{Type: "image_url", ImageURL: &bridgeImageURL{URL: u}})
		case "tool_use", "server_tool_use":
			args := "{}"
			if in := b.Get("input"); in.Exists() {
				var buf bytes.Buffer
				if json.Compact(&buf, []byte(in.Raw)) == nil {
					args = buf.String()
				}
			}
			calls = append(calls, bridgeToolCall{ID: b.Get("id").String(), Type: "function",
				Function: bridgeToolFunction{Name: b.Get("name").String(), Arguments: args}})
		case "tool_result":
			result := messagesText(b.Get("content"))
			if b.Get("is_error").Bool() {
				result = "Error: " + result
			}
			out = append(out, bridgeChatMessage{Role: "tool", ToolCallID: b.Get("tool_use_id").String(), Content: result})
		case "thinking", "redacted_thinking":
			// Claude's own, signed: no other vendor can take it back.
		case "document":
			if t := b.Get("source.data"); b.Get("source.type").String() == "text" {
				parts = append(parts, bridgeChatPart{Type: "text", Text: t.String()})
			}
		}
	}
	switch role {
	case "assistant":
		msg := bridgeChatMessage{Role: "assistant", ToolCalls: calls}
		if text.Len() > 0 {
			msg.Content = text.String()
		}
		if msg.Content != nil || len(msg.ToolCalls) > 0 {
			out = append(out, msg)
		}
	default:
		if len(parts) > 0 {
			out = append(out, bridgeChatMessage{Role: "user", Content: messagesUserContent(parts)})
		}
	}
	return out, nil
}

// messagesUserContent is a user message's content: its text as a string
// when it is text only (what every chat vendor reads), else the parts.
func messagesUserContent(parts []bridgeChatPart) any {
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return parts
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// messagesImageURL is an image block's source as an image_url: a base64
// source as a data URL, a url source as it is.
func messagesImageURL(src gjson.Result) (string, error) {
	switch src.Get("type").String() {
	case "base64":
		mt, data := src.Get("media_type").String(), src.Get("data").String()
		if mt == "" || data == "" {
			return "", errors.New("a base64 image needs media_type and data")
		}
		return "data:" + mt + ";base64," + data, nil
	case "url":
		if u := src.Get("url").String(); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			return u, nil
		}
	}
	return "", errors.New("an image source must be base64 data or an http(s) URL")
}
