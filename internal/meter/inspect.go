package meter

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// Result is what a complete non-streaming response says.
type Result struct {
	Usage        billing.Usage
	FinishReason string // the first choice's
	// HasContent is whether any choice's message has a non-empty content,
	// reasoning_content, refusal, tool_calls or function_call, or a legacy
	// choice a non-empty text; for embeddings, whether data is non-empty.
	HasContent bool
	Err        *VendorError
}

// InspectJSON reads a complete non-streaming chat.completion,
// text_completion or embeddings body. Leading white space is allowed
// (DeepSeek pads slow answers with blank lines).
//
// A body that is not valid JSON yields an Err of type "invalid_response": a
// 200 that cannot be read is as useless to the client as a vendor error.
// Without usage in the body, Usage is estimated from promptEstimate and the
// generated text. It does not keep body, and does not allocate unless it
// reports an error.
func InspectJSON(body []byte, promptEstimate int) Result {
	body = bytes.TrimLeft(body, " \t\r\n")
	// One pass validates the body and reads its members; choices are read
	// in place, from the validated text.
	var m members
	if _, err := jsonwalk.Object(body, func(mb jsonwalk.Member) {
		key, value := jsonwalk.View(mb.Key), jsonwalk.View(mb.Value)
		key = key[1 : len(key)-1]
		if key == "choices" {
			m.choices.read(value, 0)
		} else {
			m.set(key, value)
		}
	}); err != nil {
		m = members{}
		if !jsonwalk.Valid(body) {
			return Result{
				Usage: billing.Usage{PromptTokens: promptEstimate, Estimated: true},
				Err:   &VendorError{Type: "invalid_response", Message: "the vendor's response is not valid JSON"},
			}
		}
		// Valid JSON but not an object: nothing in it to read.
	}
	js := jsonwalk.View(body) // valid only during this call

	var r Result
	if m.err != "" && m.err != "null" {
		r.Err = parseVendorError(js, gjson.Parse(m.err))
	}

	if m.choices.content {
		r.HasContent = true
	}
	r.FinishReason = internFinish(m.choices.firstFinish)
	if !m.choices.present && jsonwalk.NonEmptyArray(m.data) {
		r.HasContent = true // embeddings
	}

	if jsonwalk.IsObject(m.usage) {
		readUsage(m.usage, &r.Usage)
	} else {
		r.Usage = billing.Usage{
			PromptTokens:     promptEstimate,
			CompletionTokens: estimateCompletion(m.choices.bytes, 0),
			Estimated:        true,
		}
	}
	return r
}
