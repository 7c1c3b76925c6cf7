package fakevendor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// The OpenAI Responses API (POST …/responses, and GET or DELETE
// …/responses/{id} of what it stored), as OpenAI answers it: a response
// object, or the stream of its events (response.created, in_progress, the
// output item's added, content_part.added, output_text deltas, the done
// events, response.completed with the output and usage), each event with an
// "event:" line and a rising sequence_number, no [DONE]. When the request's
// tool_choice is "required" or names a function, the answer is a call of its
// first function tool instead of text.
//
// The faults apply as to chat: FaultErrorEventBeforeToken ends the stream
// with an "error" event and response.failed before any output;
// FaultEndBeforeToken ends after in_progress; FaultCutAfter drops the
// connection after CutAfter deltas; FaultZeroTokens completes with no
// output; a forced Status answers with the error.

// stored keeps what the fake's Responses API stored, by id.
var stored sync.Map // map[string][]byte

// responsesCall is the function call the fake answers with, when asked.
type responsesCall struct{ name, args string }

func (v *Vendor) serveResponses(ctx context.Context, w http.ResponseWriter, r *http.Request, body []byte,
	resp response, o Options) outcome {
	if id, ok := strings.CutPrefix(r.URL.Path[strings.LastIndex(r.URL.Path, "/responses"):], "/responses/"); ok {
		return serveStored(w, r, id)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "", "Method not allowed", "invalid_request_error", "")
		return outcomeDone
	}
	req := gjson.ParseBytes(body)
	if prev := req.Get("previous_response_id"); prev.Exists() {
		if _, ok := stored.Load(prev.Str); !ok {
			writeError(w, http.StatusNotFound, "", fmt.Sprintf("Previous response with id '%s' not found.", prev.Str),
				"invalid_request_error", "previous_response_not_found")
			return outcomeDone
		}
	}
	resp.id = newID("resp_")
	var call *responsesCall
	if c := req.Get("tool_choice"); c.Str == "required" || c.Get("type").Str == "function" {
		req.Get("tools").ForEach(func(_, t gjson.Result) bool {
			if t.Get("type").Str == "function" {
				call = &responsesCall{name: t.Get("name").Str, args: `{"city":"Paris"}`}
				return false
			}
			return true
		})
	}
	chunks := resp.chunks
	switch o.Fault {
	case FaultZeroTokens, FaultErrorFinish:
		chunks = nil
	case FaultCutAfter, FaultStallAfter:
		chunks = chunks[:min(max(o.CutAfter, 0), len(chunks))]
	}
	rs := &responsesStreamer{v: v, ctx: ctx, w: w, rc: http.NewResponseController(w), r: resp, req: req, o: o, call: call}
	if !req.Get("stream").Bool() {
		if o.Fault == FaultErrorEventBeforeToken {
			writeJSON(w, http.StatusOK, json.RawMessage(rs.object("failed", nil, true)))
			return outcomeDone
		}
		for range chunks {
			if !sleep(ctx, o.PerToken) {
				return outcomeGone
			}
		}
		obj := rs.object("completed", rs.output(strings.Join(chunks, ""), true), false)
		if req.Get("store").Type != gjson.False {
			stored.Store(resp.id, obj)
		}
		writeJSON(w, http.StatusOK, json.RawMessage(obj))
		return outcomeDone
	}
	return rs.run(chunks)
}

// serveStored answers GET and DELETE …/responses/{id}.
func serveStored(w http.ResponseWriter, r *http.Request, id string) outcome {
	obj, ok := stored.Load(id)
	if !ok {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("Response with id '%s' not found.", id), "invalid_request_error", "")
		return outcomeDone
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, json.RawMessage(obj.([]byte)))
	case http.MethodDelete:
		stored.Delete(id)
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response.deleted", "deleted": true})
	default:
		w.Header().Set("Allow", "GET, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "", "Method not allowed", "invalid_request_error", "")
	}
	return outcomeDone
}

type responsesStreamer struct {
	v    *Vendor
	ctx  context.Context
	w    http.ResponseWriter
	rc   *http.ResponseController
	r    response
	req  gjson.Result
	o    Options
	call *responsesCall
	seq  int
}

// object renders the response object.
func (s *responsesStreamer) object(status string, output []any, failed bool) []byte {
	obj := map[string]any{
		"id": s.r.id, "object": "response", "created_at": s.r.created, "status": status,
		"error": nil, "incomplete_details": nil, "instructions": nil, "max_output_tokens": nil,
		"model": s.r.model, "output": output, "parallel_tool_calls": true, "previous_response_id": nil,
		"reasoning": map[string]any{"effort": nil, "summary": nil}, "store": true, "temperature": 1.0,
		"text": map[string]any{"format": map[string]any{"type": "text"}}, "tool_choice": "auto",
		"tools": []any{}, "top_p": 1.0, "truncation": "disabled", "metadata": map[string]any{},
	}
	if output == nil {
		obj["output"] = []any{}
	}
	if failed {
		obj["error"] = map[string]any{"code": "server_error", "message": "fake overloaded"}
	}
	if status == "completed" {
		obj["completed_at"] = time.Now().Unix()
		text := 0
		for _, c := range s.r.chunks {
			text += len(c)
		}
		completion := s.r.completionTokens
		if completion == 0 {
			completion = len(s.r.chunks)
			if len(output) == 0 {
				completion = 0
			}
		}
		obj["usage"] = map[string]any{
			"input_tokens": s.r.promptTokens, "input_tokens_details": map[string]any{"cached_tokens": s.r.cachedTokens, "cache_write_tokens": 0},
			"output_tokens": completion, "output_tokens_details": map[string]any{"reasoning_tokens": 0},
			"total_tokens": s.r.promptTokens + completion,
		}
	}
	b, _ := marshal(obj)
	return b
}

// output renders the output items of a text (or the function call).
func (s *responsesStreamer) output(text string, done bool) []any {
	if s.call != nil {
		return []any{s.callItem(done)}
	}
	if text == "" && done {
		return []any{}
	}
	return []any{s.messageItem(text, done)}
}

func (s *responsesStreamer) messageItem(text string, done bool) map[string]any {
	status, content := "in_progress", []any{}
	if done {
		status = "completed"
		content = []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}}
	}
	return map[string]any{"id": "msg_" + s.r.id[5:], "type": "message", "status": status, "role": "assistant", "content": content}
}

func (s *responsesStreamer) callItem(done bool) map[string]any {
	status, args := "in_progress", ""
	if done {
		status, args = "completed", s.call.args
	}
	return map[string]any{"id": "fc_" + s.r.id[5:], "type": "function_call", "status": status,
		"call_id": "call_" + s.r.id[5:], "name": s.call.name, "arguments": args}
}

// event writes one event; false means the client is gone.
func (s *responsesStreamer) event(typ string, fields map[string]any) bool {
	fields["type"] = typ
	fields["sequence_number"] = s.seq
	s.seq++
	b, err := marshal(fields)
	if err != nil {
		return false
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", typ, b); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

func (s *responsesStreamer) run(chunks []string) outcome {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	s.w.WriteHeader(http.StatusOK)
	progress := json.RawMessage(s.object("in_progress", nil, false))
	if !s.event("response.created", map[string]any{"response": progress}) ||
		!s.event("response.in_progress", map[string]any{"response": progress}) {
		return outcomeGone
	}
	switch s.o.Fault {
	case FaultErrorEventBeforeToken:
		ok := sleep(s.ctx, s.o.PerToken) &&
			s.event("error", map[string]any{"code": "server_error", "message": "fake overloaded", "param": nil}) &&
			s.event("response.failed", map[string]any{"response": json.RawMessage(s.object("failed", nil, true))})
		if !ok {
			return outcomeGone
		}
		return outcomeDone
	case FaultEndBeforeToken:
		return outcomeDone
	}
	if s.call != nil {
		return s.runCall()
	}
	id := "msg_" + s.r.id[5:]
	text := ""
	if len(chunks) > 0 || s.o.Fault == FaultCutAfter {
		if !s.event("response.output_item.added", map[string]any{"output_index": 0, "item": s.messageItem("", false)}) ||
			!s.event("response.content_part.added", map[string]any{"item_id": id, "output_index": 0, "content_index": 0,
				"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}, "logprobs": []any{}}}) {
			return outcomeGone
		}
	}
	for _, c := range chunks {
		if !sleep(s.ctx, s.o.PerToken) {
			return outcomeGone
		}
		text += c
		if !s.event("response.output_text.delta", map[string]any{"item_id": id, "output_index": 0, "content_index": 0,
			"delta": c, "logprobs": []any{}}) {
			return outcomeGone
		}
	}
	switch s.o.Fault {
	case FaultCutAfter:
		return outcomeCut
	case FaultStallAfter:
		<-s.ctx.Done()
		return outcomeGone
	}
	if text != "" {
		part := map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}
		if !s.event("response.output_text.done", map[string]any{"item_id": id, "output_index": 0, "content_index": 0,
			"text": text, "logprobs": []any{}}) ||
			!s.event("response.content_part.done", map[string]any{"item_id": id, "output_index": 0, "content_index": 0, "part": part}) ||
			!s.event("response.output_item.done", map[string]any{"output_index": 0, "item": s.messageItem(text, true)}) {
			return outcomeGone
		}
	}
	return s.complete(s.output(text, true))
}

func (s *responsesStreamer) runCall() outcome {
	id := "fc_" + s.r.id[5:]
	if !s.event("response.output_item.added", map[string]any{"output_index": 0, "item": s.callItem(false)}) ||
		!s.event("response.function_call_arguments.delta", map[string]any{"item_id": id, "output_index": 0, "delta": s.call.args}) ||
		!s.event("response.function_call_arguments.done", map[string]any{"item_id": id, "output_index": 0,
			"name": s.call.name, "arguments": s.call.args}) ||
		!s.event("response.output_item.done", map[string]any{"output_index": 0, "item": s.callItem(true)}) {
		return outcomeGone
	}
	return s.complete(s.output("", true))
}

func (s *responsesStreamer) complete(output []any) outcome {
	obj := s.object("completed", output, false)
	if s.req.Get("store").Type != gjson.False {
		stored.Store(s.r.id, obj)
	}
	if !s.event("response.completed", map[string]any{"response": json.RawMessage(obj)}) {
		return outcomeGone
	}
	return outcomeDone
}
