package meter

import "strconv"

// synthesizeUsage appends a usage-only chunk to the output, right before
// [DONE], when the client asked for usage and the vendor reported it only on
// other chunks (Mistral: its last content chunk; Gemini: many chunks).
func (s *Stream) synthesizeUsage() {
	if !s.opts.ClientWantsUsage || !s.usageSeen || s.usageOnlyPassed {
		return
	}
	s.out = s.appendUsageChunk(s.out)
	s.usageOnlyPassed = true
	s.synthesized++
}

// appendUsageChunk appends an SSE event with a usage-only chunk in OpenAI's
// shape, with the usage reported so far and the id, object, created and model
// of the stream's chunks:
//
//	data: {"id":...,"object":"chat.completion.chunk","created":...,"model":...,"choices":[],"usage":{"prompt_tokens":P,"completion_tokens":C,"total_tokens":P+C}}
//
// plus "prompt_tokens_details":{"cached_tokens":N} in usage when N > 0.
func (s *Stream) appendUsageChunk(b []byte) []byte {
	u := s.usage
	b = append(b, `data: {"id":`...)
	b = appendRaw(b, s.id, `""`)
	b = append(b, `,"object":`...)
	// A legacy completions stream keeps its "text_completion".
	b = appendRaw(b, s.object, `"chat.completion.chunk"`)
	b = append(b, `,"created":`...)
	b = appendRaw(b, s.created, `0`)
	b = append(b, `,"model":`...)
	b = appendRaw(b, s.mdl, `""`)
	b = append(b, `,"choices":[],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.TotalTokens()), 10)
	if u.CachedTokens > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
		b = append(b, '}')
	}
	b = append(b, "}}"...)
	if s.crlf {
		return append(b, "\r\n\r\n"...)
	}
	return append(b, "\n\n"...)
}

// appendRaw appends the raw JSON value v, or def when there is none.
func appendRaw(b, v []byte, def string) []byte {
	if len(v) == 0 {
		return append(b, def...)
	}
	return append(b, v...)
}
