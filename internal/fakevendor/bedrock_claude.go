package fakevendor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Claude on the Bedrock fake: InvokeModel, InvokeModelWithResponseStream
// and CountTokens with Anthropic bodies (see BedrockVendor).

// bedrockMalformed is Bedrock's message for a body the model refuses.
func bedrockMalformed(problem string) string {
	return "Malformed input request: " + problem + ", please reformat your input and try again."
}

// invoke answers InvokeModel (stream false) or
// InvokeModelWithResponseStream for a Claude model.
func (v *BedrockVendor) invoke(ctx context.Context, w http.ResponseWriter, body []byte, modelID string, stream bool, o BedrockOptions) {
	if !strings.Contains(modelID, "anthropic.claude") {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The fake serves InvokeModel for Claude models only.")
		return
	}
	if _, problem := claudeValidate(body, claudeBedrock, false); problem != "" {
		bedrockError(w, http.StatusBadRequest, "ValidationException", bedrockMalformed(problem))
		return
	}
	m := anthropicNewMessage(o.claudeAnswer(), modelID, len(body))
	begun := time.Now()
	if !sleep(ctx, o.TTFT) {
		abort()
	}
	if !stream {
		writeJSON(w, http.StatusOK, m.json())
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	frame := func(msgType, typ string, payload any) bool {
		buf.Reset()
		if ctx.Err() != nil || BedrockEncodeFrame(enc, &buf, msgType, typ, payload) != nil {
			return false
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	send := func(_ string, data map[string]any) bool {
		b, err := json.Marshal(data)
		return err == nil && frame("event", "chunk", map[string]string{
			"bytes": base64.StdEncoding.EncodeToString(b), "p": "abcdefghijklmnop"[:1+len(b)%16]})
	}
	e := claudeEmitter{send: send, pause: func() bool { return sleep(ctx, o.PerToken) }}
	if o.StreamException != "" {
		e.failAfter = o.ExceptionAfter
		e.fail = func() bool {
			return frame("exception", o.StreamException, map[string]string{"message": "fake " + o.StreamException})
		}
	}
	metrics := map[string]any{"amazon-bedrock-invocationMetrics": map[string]int{
		"inputTokenCount": m.inputTokens, "outputTokenCount": m.outputTokens,
		"invocationLatency": int(time.Since(begun).Milliseconds()), "firstByteLatency": int(o.TTFT.Milliseconds())}}
	if !m.events(e, metrics) {
		abort()
	}
}

// claudeAnswer is the options' answer as Claude gives it.
func (o BedrockOptions) claudeAnswer() claudeAnswer {
	a := claudeAnswer{Name: "Bedrock", Reply: o.Reply, Thinking: o.Reasoning, StopReason: o.StopReason,
		InputTokens: o.InputTokens, OutputTokens: o.OutputTokens, CacheRead: o.CacheReadTokens}
	if tc := o.ToolCall; tc != nil {
		a.ToolCall = &AnthropicToolCall{ID: tc.ID, Name: tc.Name, Input: tc.Input}
	}
	return a
}

// bedrockCountTokens answers CountTokens for an InvokeModel body.
func bedrockCountTokens(w http.ResponseWriter, body []byte, modelID string) {
	var req struct {
		Input struct {
			InvokeModel *struct {
				Body []byte `json:"body"` // base64 in JSON, as AWS's blobs are
			} `json:"invokeModel"`
		} `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Input.InvokeModel == nil {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must not be null")
		return
	}
	// Foundation model ids only: an inference profile ("us.anthropic…")
	// cannot count.
	if !strings.HasPrefix(modelID, "anthropic.claude") {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The provided model doesn't support counting tokens.")
		return
	}
	inner := req.Input.InvokeModel.Body
	if _, problem := claudeValidate(inner, claudeBedrock, false); problem != "" {
		bedrockError(w, http.StatusBadRequest, "ValidationException", bedrockMalformed(problem))
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"inputTokens": len(inner)/4 + 1000})
}
