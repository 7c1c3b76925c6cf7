package vendors

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// chatRequest is an OpenAI chat completions request, parsed once for the
// native translators (Anthropic, Bedrock, Gemini), which all need the same
// view of it.
type chatRequest struct {
	Messages          []chatMessage
	Tools             []chatTool
	ToolChoice        toolChoice
	MaxTokens         int // max_completion_tokens, else max_tokens; 0 = not given
	Temperature       *float64
	TopP              *float64
	Stop              []string
	Stream            bool
	ParallelToolCalls *bool
	N                 int
	ReasoningEffort   string // reasoning_effort, checked (reasoning.go); "" = not given
}

// chatMessage is one message, with its content normalised to parts.
type chatMessage struct {
	Role       string // system, developer, user, assistant, tool
	Parts      []contentPart
	ToolCalls  []ToolCall // assistant
	ToolCallID string     // tool
	Name       string
}

// Text joins the message's text parts.
func (m chatMessage) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == partText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Content part types.
const (
	partText  = "text"
	partImage = "image"
)

// contentPart is text or an image.
type contentPart struct {
	Type string
	Text string
	// ImageURL is an http(s) URL or a data: URL (see parseDataURL).
	ImageURL string
}

// chatTool is a function tool.
type chatTool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema; nil if absent
}

// toolChoice is the client's tool_choice: Mode is "" (not given), "auto",
// "none", "required" or "function" (then Name is the function).
type toolChoice struct {
	Mode string
	Name string
}

// wire types of the OpenAI request, for encoding/json.
type wireChatRequest struct {
	Messages            []wireMessage   `json:"messages"`
	Tools               []wireTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	N                   *int            `json:"n"`
	ReasoningEffort     string          `json:"reasoning_effort"`
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// parseChatRequest reads an OpenAI chat completions body. It rejects what a
// native API cannot express (n > 1, content parts it cannot carry) with an
// error meant for the client.
func parseChatRequest(body []byte) (chatRequest, error) {
	var w wireChatRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return chatRequest{}, fmt.Errorf("the request body does not match the chat completions schema: %v", err)
	}
	r := chatRequest{
		Temperature:       w.Temperature,
		TopP:              w.TopP,
		Stream:            w.Stream,
		ParallelToolCalls: w.ParallelToolCalls,
		N:                 1,
	}
	if w.N != nil {
		r.N = *w.N
	}
	var err error
	if r.ReasoningEffort, err = parseReasoningEffort(w.ReasoningEffort); err != nil {
		return chatRequest{}, err
	}
	switch {
	case w.MaxCompletionTokens != nil:
		r.MaxTokens = *w.MaxCompletionTokens
	case w.MaxTokens != nil:
		r.MaxTokens = *w.MaxTokens
	}
	if r.Stop, err = parseStop(w.Stop); err != nil {
		return chatRequest{}, err
	}
	for _, t := range w.Tools {
		if t.Type != "" && t.Type != "function" {
			continue // hosted tools have no native counterpart here
		}
		r.Tools = append(r.Tools, chatTool{Name: t.Function.Name, Description: t.Function.Description,
			Parameters: t.Function.Parameters})
	}
	if r.ToolChoice, err = parseToolChoice(w.ToolChoice); err != nil {
		return chatRequest{}, err
	}
	for i, wm := range w.Messages {
		m := chatMessage{Role: wm.Role, Name: wm.Name, ToolCallID: wm.ToolCallID}
		if m.Parts, err = parseContent(wm.Content); err != nil {
			return chatRequest{}, fmt.Errorf("messages[%d].content: %v", i, err)
		}
		for _, tc := range wm.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		r.Messages = append(r.Messages, m)
	}
	return r, nil
}

// parseContent reads a message's content: a string, an array of parts, or null.
func parseContent(raw json.RawMessage) ([]contentPart, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	if s[0] == '"' {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, err
		}
		return []contentPart{{Type: partText, Text: text}}, nil
	}
	var parts []wirePart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, errors.New("must be a string or an array of content parts")
	}
	out := make([]contentPart, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "text":
			out = append(out, contentPart{Type: partText, Text: p.Text})
		case "image_url":
			out = append(out, contentPart{Type: partImage, ImageURL: p.ImageURL.URL})
		default:
			return nil, fmt.Errorf("content part type %q is not supported by this vendor", p.Type)
		}
	}
	return out, nil
}

// parseStop reads stop: a string or an array of strings.
func parseStop(raw json.RawMessage) ([]string, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return nil, nil
	case s[0] == '"':
		var one string
		err := json.Unmarshal(raw, &one)
		return []string{one}, err
	default:
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			return nil, errors.New("stop must be a string or an array of strings")
		}
		return many, nil
	}
}

// parseToolChoice reads tool_choice: "auto", "none", "required", or
// {"type":"function","function":{"name":...}}.
func parseToolChoice(raw json.RawMessage) (toolChoice, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return toolChoice{}, nil
	}
	if s[0] == '"' {
		var mode string
		if err := json.Unmarshal(raw, &mode); err != nil {
			return toolChoice{}, err
		}
		switch mode {
		case "auto", "none", "required":
			return toolChoice{Mode: mode}, nil
		}
		return toolChoice{}, fmt.Errorf("tool_choice %q is not one of auto, none, required", mode)
	}
	var obj struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Function.Name == "" {
		return toolChoice{}, errors.New(`tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":...}}`)
	}
	return toolChoice{Mode: "function", Name: obj.Function.Name}, nil
}

// parseDataURL splits a base64 data URL, data:image/png;base64,AAAA, into its
// media type and data.
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !isBase64 || mediaType == "" {
		return "", "", false
	}
	return mediaType, data, true
}

// systemText joins the system and developer messages, in order, with "\n".
func (r chatRequest) systemText() string {
	var parts []string
	for _, m := range r.Messages {
		if m.Role == "system" || m.Role == "developer" {
			parts = append(parts, m.Text())
		}
	}
	return strings.Join(parts, "\n")
}

// toolNameByID maps the tool call ids of assistant messages to their
// function names; Gemini's function responses need the name.
func (r chatRequest) toolNameByID() map[string]string {
	names := make(map[string]string)
	for _, m := range r.Messages {
		for _, tc := range m.ToolCalls {
			names[tc.ID] = tc.Name
		}
	}
	return names
}
