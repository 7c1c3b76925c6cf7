package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// OpenAI chat completions → Gemini GenerateContentRequest (Gemini API and
// Vertex AI alike). The model is not in the body: it is in the URL.
//
//   - system and developer messages → systemInstruction {parts:[{text}]}
//     (joined with "\n");
//   - user → role "user": text parts, image_url parts as inlineData (base64
//     data: URLs) or fileData (http(s) and gs:// URLs, with a mimeType
//     guessed from the file extension when it is a known one);
//   - assistant → role "model": its text, then one functionCall {name, args}
//     part per tool call (arguments parsed: an empty string is {}, text that
//     is not a JSON object is sent as {"arguments": text});
//   - tool (and the legacy function role) → role "user" with a
//     functionResponse {name, response}: the name is looked up from the
//     assistant tool call with the message's tool_call_id; response is the
//     tool's text itself when it is a JSON object, else {"content": text};
//   - consecutive messages that map to the same role are merged into one
//     turn (so the answers to parallel tool calls form one turn, as Gemini
//     expects), and messages with nothing to send are dropped;
//   - max_tokens / max_completion_tokens, temperature, top_p, stop, seed,
//     presence_penalty, frequency_penalty → generationConfig; n > 1 is
//     refused (the router reads one choice); response_format json_object and
//     json_schema → responseMimeType "application/json" (+ responseSchema);
//   - tools → [{functionDeclarations:[{name, description, parameters}]}] with
//     the parameters cut down to Gemini's OpenAPI schema subset (see
//     geminiSchema);
//   - tool_choice auto/none/required/{function} → toolConfig
//     .functionCallingConfig mode AUTO/NONE/ANY/ANY + allowedFunctionNames.
//
// Thought signatures: Gemini 3 models refuse a history whose function calls
// lack the thoughtSignature the model returned with them. OpenAI clients
// only keep a tool call's id, so the response translation appends the
// signature to the id it synthesizes ("call_…" + geminiSignatureSep +
// signature), and the request translation takes it back out. A model turn
// whose first function call carries none (history from another vendor, or
// ids the client rewrote) gets Google's documented placeholder, which
// switches the check off for that call.

// geminiSignatureSep separates a synthesized tool call id from the thought
// signature appended to it.
const geminiSignatureSep = "__thought__"

// geminiSkipSignature is the placeholder signature Google documents for
// function calls that did not come from the model (or whose signature was
// lost): "skip_thought_signature_validator".
const geminiSkipSignature = "skip_thought_signature_validator"

// geminiRequest is the GenerateContentRequest body. Field order is the
// order they are written in.
type geminiRequest struct {
	Contents          []geminiContent         `json:"contents"`
	SystemInstruction *geminiContent          `json:"systemInstruction,omitempty"`
	Tools             []geminiTool            `json:"tools,omitempty"`
	ToolConfig        *geminiToolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *geminiGenerationConfig `json:"generationConfig,omitempty"`
}

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

type geminiPart struct {
	Text             string                  `json:"text,omitempty"`
	InlineData       *geminiBlob             `json:"inlineData,omitempty"`
	FileData         *geminiFileData         `json:"fileData,omitempty"`
	FunctionCall     *geminiFunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *geminiFunctionResponse `json:"functionResponse,omitempty"`
	ThoughtSignature string                  `json:"thoughtSignature,omitempty"`
}

type geminiBlob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type geminiFileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type geminiFunctionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type geminiFunctionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type geminiTool struct {
	FunctionDeclarations []geminiFunctionDeclaration `json:"functionDeclarations"`
}

type geminiFunctionDeclaration struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type geminiToolConfig struct {
	FunctionCallingConfig geminiFunctionCallingConfig `json:"functionCallingConfig"`
}

type geminiFunctionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type geminiGenerationConfig struct {
	MaxOutputTokens  int             `json:"maxOutputTokens,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"topP,omitempty"`
	StopSequences    []string        `json:"stopSequences,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	PresencePenalty  *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty *float64        `json:"frequencyPenalty,omitempty"`
	ResponseMimeType string          `json:"responseMimeType,omitempty"`
	ResponseSchema   json.RawMessage `json:"responseSchema,omitempty"`
	ThinkingConfig   *geminiThinking `json:"thinkingConfig,omitempty"`
}

// geminiExtras are the OpenAI fields chatRequest does not carry that Gemini
// has a place for.
type geminiExtras struct {
	Seed             *int64
	PresencePenalty  *float64
	FrequencyPenalty *float64
	ResponseFormat   gjson.Result // response_format, if any
	// Model is the vendor-side model: reasoning_effort maps to its
	// generation's thinkingConfig.
	Model string
}

// geminiExtrasOf reads the extras from a client body.
func geminiExtrasOf(body []byte) geminiExtras {
	var x geminiExtras
	fields := gjson.GetManyBytes(body, "seed", "presence_penalty", "frequency_penalty", "response_format")
	if fields[0].Type == gjson.Number {
		s := fields[0].Int()
		x.Seed = &s
	}
	if fields[1].Type == gjson.Number {
		p := fields[1].Float()
		x.PresencePenalty = &p
	}
	if fields[2].Type == gjson.Number {
		f := fields[2].Float()
		x.FrequencyPenalty = &f
	}
	if fields[3].IsObject() {
		x.ResponseFormat = fields[3]
	}
	return x
}

// geminiAttemptBody translates an attempt's client body.
func geminiAttemptBody(a Attempt) ([]byte, error) {
	r, err := parseChatRequest(a.Body)
	if err != nil {
		return nil, err
	}
	x := geminiExtrasOf(a.Body)
	x.Model = a.Model
	return geminiBody(r, x)
}

// geminiBody translates a parsed chat request, with the extras, into a
// Gemini GenerateContentRequest body (no model: it belongs in the URL).
// Errors are meant for the client.
func geminiBody(r chatRequest, x geminiExtras) ([]byte, error) {
	if r.N > 1 {
		return nil, errors.New("n > 1 is not supported by this vendor")
	}
	var req geminiRequest
	var err error
	if req.Contents, err = geminiContents(r); err != nil {
		return nil, err
	}
	if req.Contents == nil {
		req.Contents = []geminiContent{}
	}
	if sys := r.systemText(); sys != "" {
		req.SystemInstruction = &geminiContent{Parts: []geminiPart{{Text: sys}}}
	}
	if len(r.Tools) > 0 {
		decls := make([]geminiFunctionDeclaration, 0, len(r.Tools))
		for i, t := range r.Tools {
			if t.Name == "" {
				return nil, fmt.Errorf("tools[%d].function.name is required", i)
			}
			params, err := geminiSchema(t.Parameters)
			if err != nil {
				return nil, fmt.Errorf("tools[%d].function.parameters: %v", i, err)
			}
			decls = append(decls, geminiFunctionDeclaration{Name: t.Name, Description: t.Description, Parameters: params})
		}
		req.Tools = []geminiTool{{FunctionDeclarations: decls}}
		req.ToolConfig = geminiToolChoice(r.ToolChoice)
	}
	if req.GenerationConfig, err = geminiGenConfig(r, x); err != nil {
		return nil, err
	}
	return geminiMarshal(req)
}

// geminiMarshal encodes v without escaping <, > and & (the default HTML
// escaping only inflates prompts).
func geminiMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// geminiContents translates the conversation (system messages excluded).
func geminiContents(r chatRequest) ([]geminiContent, error) {
	var contents []geminiContent
	add := func(role string, parts []geminiPart) {
		if len(parts) == 0 {
			return
		}
		if n := len(contents); n > 0 && contents[n-1].Role == role {
			contents[n-1].Parts = append(contents[n-1].Parts, parts...)
			return
		}
		contents = append(contents, geminiContent{Role: role, Parts: parts})
	}
	var names map[string]string
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
		case "user":
			parts, err := geminiUserParts(m.Parts)
			if err != nil {
				return nil, fmt.Errorf("messages[%d].content: %v", i, err)
			}
			add("user", parts)
		case "assistant":
			add("model", geminiModelParts(m))
		case "tool", "function":
			name := m.Name
			if m.Role == "tool" {
				if names == nil {
					names = r.toolNameByID()
				}
				if n := names[m.ToolCallID]; n != "" {
					name = n
				}
			}
			if name == "" {
				return nil, fmt.Errorf("messages[%d]: tool_call_id %q matches no tool call of an earlier assistant message", i, m.ToolCallID)
			}
			add("user", []geminiPart{{FunctionResponse: &geminiFunctionResponse{Name: name, Response: geminiToolResult(m.Text())}}})
		default:
			return nil, fmt.Errorf("messages[%d].role %q is not supported", i, m.Role)
		}
	}
	return contents, nil
}

// geminiUserParts translates a user message's content parts.
func geminiUserParts(in []contentPart) ([]geminiPart, error) {
	parts := make([]geminiPart, 0, len(in))
	for _, p := range in {
		switch p.Type {
		case partText:
			if p.Text != "" {
				parts = append(parts, geminiPart{Text: p.Text})
			}
		case partImage:
			part, err := geminiImagePart(p.ImageURL)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		}
	}
	return parts, nil
}

// geminiImagePart turns an image_url into inline data or a file reference.
func geminiImagePart(u string) (geminiPart, error) {
	if strings.HasPrefix(u, "data:") {
		mediaType, data, ok := parseDataURL(u)
		if !ok {
			return geminiPart{}, errors.New("image_url data URLs must be base64 (data:<media type>;base64,<data>)")
		}
		return geminiPart{InlineData: &geminiBlob{MimeType: mediaType, Data: data}}, nil
	}
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "gs://") {
		return geminiPart{}, errors.New("image_url must be an http(s) URL, a gs:// URI or a base64 data URL")
	}
	return geminiPart{FileData: &geminiFileData{MimeType: geminiGuessMimeType(u), FileURI: u}}, nil
}

// geminiMimeTypes are the file extensions whose media type is certain
// enough to tell Gemini.
var geminiMimeTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
	".gif": "image/gif", ".heic": "image/heic", ".heif": "image/heif", ".pdf": "application/pdf",
}

// geminiGuessMimeType returns the media type of a URL's file extension, or
// "" when it is not one of the known ones.
func geminiGuessMimeType(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return geminiMimeTypes[strings.ToLower(path.Ext(u))]
}

// geminiModelParts translates an assistant message: text, then function
// calls with their thought signatures.
func geminiModelParts(m chatMessage) []geminiPart {
	var parts []geminiPart
	if text := m.Text(); text != "" {
		parts = append(parts, geminiPart{Text: text})
	}
	for i, tc := range m.ToolCalls {
		_, sig := geminiSplitCallID(tc.ID)
		if sig == "" && i == 0 {
			sig = geminiSkipSignature
		}
		parts = append(parts, geminiPart{
			FunctionCall:     &geminiFunctionCall{Name: tc.Name, Args: geminiArgs(tc.Arguments)},
			ThoughtSignature: sig,
		})
	}
	return parts
}

// geminiSplitCallID splits a tool call id made by geminiCallID into the id
// proper and the thought signature ("" if none).
func geminiSplitCallID(id string) (base, signature string) {
	base, signature, _ = strings.Cut(id, geminiSignatureSep)
	return base, signature
}

// geminiArgs turns OpenAI's arguments string into Gemini's args object.
func geminiArgs(arguments string) json.RawMessage {
	s := strings.TrimSpace(arguments)
	if s == "" {
		return json.RawMessage("{}")
	}
	if jsonwalk.ValidString(s) && gjson.Parse(s).IsObject() {
		return json.RawMessage(s)
	}
	return json.RawMessage(append(gjson.AppendJSONString([]byte(`{"arguments":`), arguments), '}'))
}

// geminiToolResult turns a tool message's text into a functionResponse
// response object.
func geminiToolResult(text string) json.RawMessage {
	s := strings.TrimSpace(text)
	if jsonwalk.ValidString(s) && gjson.Parse(s).IsObject() {
		return json.RawMessage(s)
	}
	return json.RawMessage(append(gjson.AppendJSONString([]byte(`{"content":`), text), '}'))
}

// geminiToolChoice maps tool_choice; nil when the client gave none.
func geminiToolChoice(tc toolChoice) *geminiToolConfig {
	var c geminiFunctionCallingConfig
	switch tc.Mode {
	case "auto":
		c.Mode = "AUTO"
	case "none":
		c.Mode = "NONE"
	case "required":
		c.Mode = "ANY"
	case "function":
		c.Mode = "ANY"
		c.AllowedFunctionNames = []string{tc.Name}
	default:
		return nil
	}
	return &geminiToolConfig{FunctionCallingConfig: c}
}

// geminiGenConfig builds generationConfig; nil when there is nothing to set.
func geminiGenConfig(r chatRequest, x geminiExtras) (*geminiGenerationConfig, error) {
	g := geminiGenerationConfig{
		Temperature:      r.Temperature,
		TopP:             r.TopP,
		StopSequences:    r.Stop,
		Seed:             x.Seed,
		PresencePenalty:  x.PresencePenalty,
		FrequencyPenalty: x.FrequencyPenalty,
		ThinkingConfig:   geminiThinkingFor(x.Model, r.ReasoningEffort),
	}
	if r.MaxTokens > 0 {
		g.MaxOutputTokens = r.MaxTokens
	}
	if rf := x.ResponseFormat; rf.Exists() {
		switch rf.Get("type").String() {
		case "json_object":
			g.ResponseMimeType = "application/json"
		case "json_schema":
			g.ResponseMimeType = "application/json"
			if s := rf.Get("json_schema.schema"); s.IsObject() {
				schema, err := geminiSchema(json.RawMessage(s.Raw))
				if err != nil {
					return nil, fmt.Errorf("response_format.json_schema.schema: %v", err)
				}
				g.ResponseSchema = schema
			}
		}
	}
	if g.MaxOutputTokens == 0 && g.Temperature == nil && g.TopP == nil && len(g.StopSequences) == 0 &&
		g.Seed == nil && g.PresencePenalty == nil && g.FrequencyPenalty == nil && g.ResponseMimeType == "" &&
		g.ThinkingConfig == nil {
		return nil, nil
	}
	return &g, nil
}
