package vendors

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Gemini GenerateContentResponse → OpenAI chat.completion (and, for each
// streamed response, chunks: gemini_stream.go):
//
//   - candidates[0].content.parts: text parts are the content, parts with
//     thought: true the reasoning, functionCall parts tool calls with a
//     synthesized id ("call_" + 24 hex digits, or the call's own id when
//     Gemini gives one; + geminiSignatureSep + thoughtSignature when the
//     part has one, see gemini_request.go) and the args as compact JSON;
//   - finishReason: STOP is stop, or tool_calls when a function was called
//     (Gemini has no reason of its own for that); MAX_TOKENS is length; the
//     safety family (SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT,
//     SPII, IMAGE_SAFETY…) is content_filter; anything else is stop;
//   - a prompt refused outright (promptFeedback.blockReason, no candidate)
//     is an empty answer with finish_reason content_filter;
//   - usageMetadata: prompt_tokens = promptTokenCount (which already
//     includes cachedContentTokenCount) + toolUsePromptTokenCount (input
//     too, for built-in tools), cached_tokens = cachedContentTokenCount,
//     completion_tokens = candidatesTokenCount + thoughtsTokenCount (thoughts
//     are billed as output), reasoning_tokens = thoughtsTokenCount.

// geminiCompletion translates a non-streaming generateContent answer.
func geminiCompletion(model string, body []byte) (Completion, error) {
	if !jsonwalk.Valid(body) {
		return Completion{}, errors.New("gemini: the vendor's answer is not valid JSON")
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return Completion{}, errors.New("gemini: the vendor's answer is not a JSON object")
	}
	r := geminiViewOf(root)
	c := Completion{ID: r.responseID, Model: model, Usage: geminiUsage(r.usage)}
	if !r.hasCandidate {
		if r.blockReason != "" {
			c.FinishReason = "content_filter"
		}
		return c, nil
	}
	var content, reasoning []byte
	r.parts.ForEach(func(_, p gjson.Result) bool {
		part := geminiPartOf(p)
		switch {
		case part.call.IsObject():
			c.ToolCalls = append(c.ToolCalls, ToolCall{
				ID:        geminiCallID(part.call.Get("id").String(), part.signature),
				Name:      part.call.Get("name").String(),
				Arguments: geminiArgsJSON(part.call.Get("args")),
			})
		case part.thought:
			reasoning = append(reasoning, part.text...)
		default:
			content = append(content, part.text...)
		}
		return true
	})
	c.Content, c.Reasoning = string(content), string(reasoning)
	c.FinishReason = geminiFinishReason(r.finishReason, len(c.ToolCalls) > 0)
	return c, nil
}

// geminiView is what the translation reads of a GenerateContentResponse,
// gathered in one pass over its fields (each gjson Get rescans the object,
// which adds up over a stream's many events).
type geminiView struct {
	responseID   string
	usage        gjson.Result // usageMetadata
	errObj       gjson.Result // error (an error event in a stream)
	blockReason  string       // promptFeedback.blockReason
	hasCandidate bool         // candidates has the one with index 0
	parts        gjson.Result // its content.parts
	finishReason string       // its finishReason
}

func geminiViewOf(root gjson.Result) geminiView {
	var r geminiView
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "responseId":
			r.responseID = v.String()
		case "usageMetadata":
			r.usage = v
		case "error":
			r.errObj = v
		case "promptFeedback":
			r.blockReason = v.Get("blockReason").String()
		case "candidates":
			v.ForEach(func(_, cand gjson.Result) bool {
				index := int64(0) // Gemini omits a zero index
				var parts gjson.Result
				var finish string
				cand.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "index":
						index = v.Int()
					case "content":
						parts = v.Get("parts")
					case "finishReason":
						finish = v.String()
					}
					return true
				})
				if index != 0 {
					return true
				}
				r.hasCandidate, r.parts, r.finishReason = true, parts, finish
				return false
			})
		}
		return true
	})
	return r
}

// geminiPartView is one content part's fields.
type geminiPartView struct {
	text      string
	thought   bool
	call      gjson.Result // functionCall
	signature string       // thoughtSignature
}

func geminiPartOf(p gjson.Result) geminiPartView {
	var part geminiPartView
	p.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "text":
			part.text = v.String()
		case "thought":
			part.thought = v.Bool()
		case "functionCall":
			part.call = v
		case "thoughtSignature":
			part.signature = v.String()
		}
		return true
	})
	return part
}

// geminiFinishReason maps a Gemini finish reason; "" stays "" (not finished).
func geminiFinishReason(reason string, calledTools bool) string {
	switch reason {
	case "", "FINISH_REASON_UNSPECIFIED":
		return ""
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return "content_filter"
	}
	if calledTools {
		return "tool_calls"
	}
	return "stop"
}

// geminiUsage reads usageMetadata.
func geminiUsage(m gjson.Result) billing.Usage {
	var u billing.Usage
	m.ForEach(func(k, v gjson.Result) bool {
		n := int(v.Int())
		switch k.Str {
		case "promptTokenCount", "toolUsePromptTokenCount":
			u.PromptTokens += n
		case "cachedContentTokenCount":
			u.CachedTokens = n
		case "candidatesTokenCount":
			u.CompletionTokens += n
		case "thoughtsTokenCount":
			u.CompletionTokens += n
			u.ReasoningTokens = n
		}
		return true
	})
	return u
}

// geminiCallID returns the OpenAI id for a function call: Gemini's own id
// if it gave one, else a new "call_…" one; with the thought signature
// appended when there is one.
func geminiCallID(id, signature string) string {
	if id == "" {
		id = geminiNewCallID()
	}
	if signature != "" {
		return id + geminiSignatureSep + signature
	}
	return id
}

// geminiNewCallID returns "call_" and 24 random hex digits. Tool call ids
// only need to be unique within a conversation, not unguessable.
func geminiNewCallID() string {
	b := make([]byte, 0, 29)
	b = append(b, "call_"...)
	for range 2 {
		v := rand.Uint64()
		for i := 0; i < 12; i++ {
			b = append(b, "0123456789abcdef"[v&15])
			v >>= 4
		}
	}
	return string(b)
}

// geminiArgsJSON renders a functionCall's args as compact JSON ("{}" when
// absent).
func geminiArgsJSON(args gjson.Result) string {
	if !args.Exists() || args.Type == gjson.Null {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(args.Raw)); err != nil {
		return args.Raw
	}
	return b.String()
}
