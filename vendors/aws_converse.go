package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Bedrock Converse request, as far as the router writes it
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html).
type bedrockRequest struct {
	Messages        []bedrockMessage       `json:"messages"`
	System          []bedrockText          `json:"system,omitempty"`
	InferenceConfig bedrockInferenceConfig `json:"inferenceConfig"`
	ToolConfig      *bedrockToolConfig     `json:"toolConfig,omitempty"`
	// AdditionalModelRequestFields carries what Converse has no field
	// for: Claude's extended thinking.
	AdditionalModelRequestFields *bedrockExtraFields `json:"additionalModelRequestFields,omitempty"`
}

type bedrockExtraFields struct {
	Thinking *anthropicThinking `json:"thinking,omitempty"`
}

type bedrockMessage struct {
	Role    string         `json:"role"`
	Content []bedrockBlock `json:"content"`
}

// bedrockBlock is a ContentBlock union: exactly one member is set.
type bedrockBlock struct {
	Text       *string            `json:"text,omitempty"`
	Image      *bedrockImage      `json:"image,omitempty"`
	ToolUse    *bedrockToolUse    `json:"toolUse,omitempty"`
	ToolResult *bedrockToolResult `json:"toolResult,omitempty"`
}

type bedrockText struct {
	Text string `json:"text"`
}

type bedrockImage struct {
	Format string `json:"format"`
	Source struct {
		Bytes string `json:"bytes"` // base64, as restJson1 encodes blobs
	} `json:"source"`
}

type bedrockToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type bedrockToolResult struct {
	ToolUseID string        `json:"toolUseId"`
	Content   []bedrockText `json:"content"`
	Status    string        `json:"status"`
}

type bedrockInferenceConfig struct {
	MaxTokens     int      `json:"maxTokens"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type bedrockToolConfig struct {
	Tools      []bedrockTool   `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type bedrockTool struct {
	ToolSpec bedrockToolSpec `json:"toolSpec"`
}

type bedrockToolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	InputSchema struct {
		JSON json.RawMessage `json:"json"`
	} `json:"inputSchema"`
}

// bedrockEmptySchema is the input schema of a tool declared without
// parameters (Converse requires one).
var bedrockEmptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// bedrockImageFormats maps image media types to Converse image formats.
var bedrockImageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
}

// bedrockConverseBody translates an OpenAI chat request into a Converse (or
// ConverseStream: the body is the same) request body. Errors are meant for
// the client: what Converse cannot express.
//
//   - system and developer messages become system blocks, one per message,
//     in order, wherever they appear;
//   - user text and images (base64 data URLs of png, jpeg, gif or webp;
//     Bedrock cannot fetch http(s) image URLs, so those are an error);
//   - assistant text and tool_calls, as toolUse blocks with the arguments
//     parsed into the input object ("" is {});
//   - tool messages become toolResult blocks (text, status "success") in a
//     user turn;
//   - consecutive messages of the same role are merged into one turn, as
//     Converse requires alternating roles;
//   - whitespace-only text blocks, and messages left empty, are dropped:
//     Converse rejects blank text blocks and empty messages;
//   - inferenceConfig: maxTokens (the client's, else defaultMax),
//     temperature (capped at 1, the maximum of every Converse chat model
//     family except OpenAI's own), topP, stopSequences;
//   - toolConfig: the function tools, and toolChoice "required" as any,
//     {"function":...} as tool; auto (or none given) is Converse's default
//     and is not written. tool_choice "none" has no Converse equivalent: the
//     tools are left out, unless the conversation already holds tool calls
//     or results, which Converse refuses without a toolConfig; then the
//     tools are sent and the model may still call one. Likewise a
//     conversation with tool calls but no tools gets minimal declarations
//     of the tools it used ({"type":"object"} input);
//   - reasoning_effort, for Claude models (model names an anthropic.*
//     model or inference profile), is extended thinking in
//     additionalModelRequestFields, as for Anthropic's own API
//     (claudeThinking), without temperature and topP; other families have
//     no common setting for it, and it is ignored;
//   - n > 1 is an error; other OpenAI fields have no Converse counterpart
//     and are ignored.
func bedrockConverseBody(r chatRequest, model string, defaultMax int) ([]byte, error) {
	if r.N > 1 {
		return nil, errors.New("n > 1 is not supported by Bedrock: Converse returns one choice")
	}
	var req bedrockRequest
	usedTools := false
	for i, m := range r.Messages {
		var role string
		var blocks []bedrockBlock
		switch m.Role {
		case "system", "developer":
			if text := m.Text(); strings.TrimSpace(text) != "" {
				req.System = append(req.System, bedrockText{text})
			}
			continue
		case "user":
			role = "user"
			for _, p := range m.Parts {
				b, err := bedrockUserPart(p)
				if err != nil {
					return nil, fmt.Errorf("messages[%d].content: %v", i, err)
				}
				if b != nil {
					blocks = append(blocks, *b)
				}
			}
		case "assistant":
			role = "assistant"
			for _, p := range m.Parts {
				if p.Type == partText && strings.TrimSpace(p.Text) != "" {
					blocks = append(blocks, bedrockBlock{Text: &p.Text})
				}
			}
			for j, tc := range m.ToolCalls {
				input, err := bedrockToolInput(tc.Arguments)
				if err != nil {
					return nil, fmt.Errorf("messages[%d].tool_calls[%d].function.arguments: %v", i, j, err)
				}
				blocks = append(blocks, bedrockBlock{ToolUse: &bedrockToolUse{
					ToolUseID: bedrockToolUseID(tc.ID), Name: tc.Name, Input: input}})
				usedTools = true
			}
		case "tool":
			role = "user"
			blocks = append(blocks, bedrockBlock{ToolResult: &bedrockToolResult{
				ToolUseID: bedrockToolUseID(m.ToolCallID),
				Content:   []bedrockText{{m.Text()}},
				Status:    "success",
			}})
			usedTools = true
		default:
			return nil, fmt.Errorf("messages[%d]: role %q is not supported by Bedrock", i, m.Role)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == role {
			req.Messages[n-1].Content = append(req.Messages[n-1].Content, blocks...)
		} else {
			req.Messages = append(req.Messages, bedrockMessage{Role: role, Content: blocks})
		}
	}
	if req.Messages == nil {
		req.Messages = []bedrockMessage{}
	}

	req.InferenceConfig.MaxTokens = r.MaxTokens
	if req.InferenceConfig.MaxTokens <= 0 {
		req.InferenceConfig.MaxTokens = defaultMax
	}
	if t := r.Temperature; t != nil {
		capped := min(*t, 1)
		req.InferenceConfig.Temperature = &capped
	}
	req.InferenceConfig.TopP = r.TopP
	req.InferenceConfig.StopSequences = r.Stop
	if strings.Contains(model, "anthropic.") {
		var thinking *anthropicThinking
		if thinking, req.InferenceConfig.MaxTokens = claudeThinking(&r, req.InferenceConfig.MaxTokens); thinking != nil {
			req.AdditionalModelRequestFields = &bedrockExtraFields{Thinking: thinking}
			req.InferenceConfig.Temperature, req.InferenceConfig.TopP = nil, nil
		}
	}

	req.ToolConfig = bedrockTools(r, usedTools)
	return bedrockMarshal(&req)
}

// bedrockUserPart translates one user content part; nil for a blank text.
func bedrockUserPart(p contentPart) (*bedrockBlock, error) {
	switch p.Type {
	case partText:
		if strings.TrimSpace(p.Text) == "" {
			return nil, nil
		}
		return &bedrockBlock{Text: &p.Text}, nil
	case partImage:
		mediaType, data, ok := parseDataURL(p.ImageURL)
		if !ok {
			if strings.HasPrefix(p.ImageURL, "http://") || strings.HasPrefix(p.ImageURL, "https://") {
				return nil, errors.New("image URLs are not supported by Bedrock (it cannot fetch them): send the image as a base64 data URL")
			}
			return nil, errors.New("image_url must be a base64 data URL (data:image/png;base64,...)")
		}
		format, known := bedrockImageFormats[strings.ToLower(mediaType)]
		if !known {
			return nil, fmt.Errorf("image type %q is not supported by Bedrock (png, jpeg, gif, webp)", mediaType)
		}
		img := &bedrockImage{Format: format}
		img.Source.Bytes = data
		return &bedrockBlock{Image: img}, nil
	}
	return nil, fmt.Errorf("content part type %q is not supported by Bedrock", p.Type)
}

// bedrockToolInput parses a tool call's JSON arguments into the toolUse
// input document.
func bedrockToolInput(args string) (json.RawMessage, error) {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid([]byte(args)) {
		return nil, errors.New("is not valid JSON")
	}
	return json.RawMessage(args), nil
}

// bedrockToolUseID makes a tool call id acceptable to Converse, whose ids
// match [a-zA-Z0-9_-]{1,64}: OpenAI's call_..., Anthropic's toolu_... and
// Bedrock's own tooluse_... pass unchanged; any other character becomes "_"
// and longer ids are cut. The mapping is deterministic, so a tool call and
// its result still match.
func bedrockToolUseID(id string) string {
	ok := len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		ok = bedrockIDChar(id[i])
	}
	if ok {
		return id
	}
	b := []byte(id)
	for i, c := range b {
		if !bedrockIDChar(c) {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

func bedrockIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// bedrockTools builds the toolConfig; see bedrockConverseBody.
func bedrockTools(r chatRequest, usedTools bool) *bedrockToolConfig {
	if r.ToolChoice.Mode == "none" && !usedTools {
		return nil
	}
	tc := &bedrockToolConfig{}
	for _, t := range r.Tools {
		spec := bedrockToolSpec{Name: t.Name, Description: t.Description}
		spec.InputSchema.JSON = t.Parameters
		if len(bytes.TrimSpace(t.Parameters)) == 0 || string(bytes.TrimSpace(t.Parameters)) == "null" {
			spec.InputSchema.JSON = bedrockEmptySchema
		}
		tc.Tools = append(tc.Tools, bedrockTool{spec})
	}
	if len(tc.Tools) == 0 && usedTools {
		seen := make(map[string]bool)
		for _, m := range r.Messages {
			for _, call := range m.ToolCalls {
				if call.Name == "" || seen[call.Name] {
					continue
				}
				seen[call.Name] = true
				spec := bedrockToolSpec{Name: call.Name}
				spec.InputSchema.JSON = json.RawMessage(`{"type":"object"}`)
				tc.Tools = append(tc.Tools, bedrockTool{spec})
			}
		}
	}
	if len(tc.Tools) == 0 {
		return nil
	}
	switch r.ToolChoice.Mode {
	case "required":
		tc.ToolChoice = json.RawMessage(`{"any":{}}`)
	case "function":
		b := []byte(`{"tool":{"name":`)
		b = gjson.AppendJSONString(b, r.ToolChoice.Name)
		tc.ToolChoice = append(b, "}}"...)
	}
	return tc
}

// bedrockMarshal encodes v without HTML escaping (the client's text goes as
// it came) and without the encoder's trailing newline.
func bedrockMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the Bedrock request: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ---------------------------------------------------------------------------
// Response

// bedrockCompletion translates a Converse answer into an OpenAI
// chat.completion object whose model is model.
func bedrockCompletion(model string, body []byte) ([]byte, error) {
	c, err := bedrockParseConverse(body)
	if err != nil {
		return nil, err
	}
	c.Model = model
	return c.render(), nil
}

// bedrockParseConverse reads a Converse response:
//
//   - output.message.content[]: text blocks are concatenated into the
//     content, reasoningContent.reasoningText.text into the reasoning (its
//     signature and redacted reasoning are dropped), toolUse blocks become
//     tool calls with their input as the JSON arguments;
//   - stopReason: end_turn and stop_sequence are "stop", max_tokens and
//     model_context_window_exceeded "length", tool_use "tool_calls",
//     guardrail_intervened and content_filtered "content_filter";
//   - usage: Bedrock's inputTokens exclude the prompt cache, so
//     prompt_tokens = inputTokens + cacheReadInputTokens +
//     cacheWriteInputTokens, and cached_tokens = cacheReadInputTokens;
//     completion_tokens = outputTokens.
//
// Converse answers carry no id: render synthesizes one.
func bedrockParseConverse(body []byte) (Completion, error) {
	if !jsonwalk.Valid(body) {
		return Completion{}, fmt.Errorf("%w: the Converse response is not valid JSON", errNativeStream)
	}
	root := gjson.ParseBytes(body)
	msg := root.Get("output.message")
	if !msg.IsObject() {
		return Completion{}, fmt.Errorf("%w: the Converse response has no output.message", errNativeStream)
	}
	var c Completion
	var text, reasoning strings.Builder
	for _, block := range msg.Get("content").Array() {
		if t := block.Get("text"); t.Exists() {
			text.WriteString(t.String())
		}
		if r := block.Get("reasoningContent.reasoningText.text"); r.Exists() {
			reasoning.WriteString(r.String())
		}
		if tu := block.Get("toolUse"); tu.IsObject() {
			c.ToolCalls = append(c.ToolCalls, ToolCall{
				ID:        tu.Get("toolUseId").String(),
				Name:      tu.Get("name").String(),
				Arguments: bedrockArguments(tu.Get("input")),
			})
		}
	}
	c.Content = text.String()
	c.Reasoning = reasoning.String()
	c.FinishReason = bedrockFinishReason(root.Get("stopReason").String())
	c.Usage = bedrockUsage(root.Get("usage"))
	return c, nil
}

// bedrockArguments renders a toolUse input as compact JSON arguments.
func bedrockArguments(input gjson.Result) string {
	if !input.Exists() || input.Type == gjson.Null {
		return "{}"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(input.Raw)); err != nil {
		return input.Raw
	}
	return buf.String()
}

// bedrockFinishReason maps a Converse stopReason to an OpenAI finish_reason.
func bedrockFinishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, and any newer reason
}

// bedrockUsage reads a Converse TokenUsage; see bedrockParseConverse.
func bedrockUsage(u gjson.Result) billing.Usage {
	cacheRead := int(u.Get("cacheReadInputTokens").Int())
	return billing.Usage{
		PromptTokens:     int(u.Get("inputTokens").Int()) + cacheRead + int(u.Get("cacheWriteInputTokens").Int()),
		CachedTokens:     cacheRead,
		CompletionTokens: int(u.Get("outputTokens").Int()),
	}
}
