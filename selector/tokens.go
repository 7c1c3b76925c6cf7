package selector

import (
	"strings"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

const (
	// bytesPerToken is the rule of thumb for English text and code with
	// OpenAI-style BPE tokenizers. The estimate only picks a size bucket, whose
	// limits are a factor of four apart, so rough is good enough.
	bytesPerToken = 4
	// messageOverheadTokens is what each chat message costs on top of its
	// text (role and separators), per OpenAI's own counting guide.
	messageOverheadTokens = 4
)

// tokenCount accumulates an estimate: text in bytes, and prompts that were
// sent already tokenized in tokens.
type tokenCount struct {
	bytes, tokens int
	toolCalls     bool // a message has tool_calls or tool_call_id (ToolCalls)
}

func (c *tokenCount) total() int {
	return c.tokens + (c.bytes+bytesPerToken-1)/bytesPerToken
}

// PromptEstimator estimates the prompt tokens of a request body (OpenAI's
// APIs, Anthropic's Messages), at about 4 bytes per token, from its
// top-level members. It counts:
//
//   - chat completions "messages": string "content", the "text" of content
//     parts (image, audio and file parts are ignored), "name", and the name
//     and arguments of "tool_calls" and legacy "function_call", plus a small
//     per-message overhead;
//   - Anthropic Messages' "messages" as chat's, their content blocks as
//     countContent says, and its "system" (a string or text blocks);
//   - the "tools" and legacy "functions" definitions, as their raw JSON
//     length, because vendors bill and process them as prompt;
//   - legacy completions "prompt" and embeddings "input", each a string, an
//     array of strings, or already tokenized (an array of token ids, or an
//     array of such arrays; each id counts as one token).
//
// It is fed by a caller that walks the body's top level anyway (the router's
// validating pass, jsonwalk.Object): it counts the members it is handed,
// while they are still in the cache, and saves a second walk. A body with
// none of these fields is estimated at 0. It reads each value in a single
// pass with jsonwalk's lenient Iter, does not allocate and never panics:
// malformed JSON just yields a smaller estimate.
type PromptEstimator struct{ c tokenCount }

// Member counts one top-level member, given its key without quotes and its
// raw value. Members that say nothing about the prompt cost nothing.
func (e *PromptEstimator) Member(key, value []byte) {
	if countsPrompt(key) {
		it := jsonwalk.ValueIter(jsonwalk.View(value))
		countMember(&e.c, jsonwalk.View(key), &it)
	}
}

// IndexedMember is Member for m, a member jsonwalk.ObjectIndexed is
// visiting, whose long strings idx knows: their text is not scanned a
// second time. key is m's name.
func (e *PromptEstimator) IndexedMember(key []byte, m jsonwalk.Member, idx *jsonwalk.StringIndex) {
	if countsPrompt(key) {
		it := jsonwalk.IndexedIter(m, idx)
		countMember(&e.c, jsonwalk.View(key), &it)
	}
}

// countsPrompt reports whether the top-level member named key is part of
// the prompt.
func countsPrompt(key []byte) bool {
	switch string(key) {
	case "messages", "prompt", "input", "tools", "functions", "system", "instructions":
		return true
	}
	return false
}

// Tokens is the estimate of the members counted so far.
func (e *PromptEstimator) Tokens() int { return e.c.total() }

// ToolCalls reports whether a chat message counted so far has a
// "tool_calls" or "tool_call_id" member, or a key spelled with escapes,
// which might be either. The router passes it on to the vendors'
// translations, which otherwise search the whole body for tool call ids.
func (e *PromptEstimator) ToolCalls() bool { return e.c.toolCalls }

// countMember counts the top-level member named key whose value is pending
// in it.
func countMember(c *tokenCount, key string, it *jsonwalk.Iter) {
	switch key {
	case "messages":
		countMessages(c, it)
	case "prompt", "input", "instructions":
		countPrompt(c, it)
	case "tools", "functions":
		if it.Peek() == '[' {
			c.bytes += len(it.Value())
		}
	case "system":
		countContent(c, it)
	}
}

// countMessages counts the pending chat completions "messages" array of it.
func countMessages(c *tokenCount, it *jsonwalk.Iter) {
	msgs := it.Enter()
	for msgs.Next() {
		if msgs.Peek() != '{' {
			continue
		}
		c.tokens += messageOverheadTokens
		m := msgs.Enter()
		for m.Next() {
			switch m.Key() {
			case "content":
				countContent(c, &m)
			case "name":
				c.bytes += m.StringBytes()
			case "tool_call_id":
				c.toolCalls = true
			case "tool_calls":
				c.toolCalls = true
				calls := m.Enter()
				for calls.Next() {
					call := calls.Enter()
					for call.Next() {
						if call.Key() == "function" {
							countFunctionCall(c, &call)
						}
					}
				}
			case "function_call":
				countFunctionCall(c, &m)
			default:
				if strings.IndexByte(m.Key(), '\\') >= 0 {
					c.toolCalls = true // an escaped key: perhaps one of the two
				}
			}
		}
	}
}

// countContent counts the pending message "content" of it: a string, or an
// array of parts (chat completions) or content blocks (Anthropic's Messages,
// whose "system" is one too) of which the prompt is the "text", a thinking
// block's "thinking", a tool_use block's "input" (its raw JSON) and a
// tool_result block's own "content"; images and files are not counted.
func countContent(c *tokenCount, it *jsonwalk.Iter) {
	if it.Peek() == '"' {
		c.bytes += it.StringBytes()
		return
	}
	parts := it.Enter()
	for parts.Next() {
		part := parts.Enter()
		for part.Next() {
			switch part.Key() {
			case "text", "thinking":
				c.bytes += part.StringBytes()
			case "input":
				c.bytes += len(part.Value())
			case "content":
				countResult(c, &part)
			}
		}
	}
}

// countResult counts the pending "content" of a tool_result block: a
// string, or text blocks. (Not countContent again: a recursive call would
// move the iterators to the heap.)
func countResult(c *tokenCount, it *jsonwalk.Iter) {
	if it.Peek() == '"' {
		c.bytes += it.StringBytes()
		return
	}
	blocks := it.Enter()
	for blocks.Next() {
		block := blocks.Enter()
		for block.Next() {
			if block.Key() == "text" {
				c.bytes += block.StringBytes()
			}
		}
	}
}

// countFunctionCall counts the name and arguments of the pending
// {"name", "arguments"} object of it.
func countFunctionCall(c *tokenCount, it *jsonwalk.Iter) {
	fields := it.Enter()
	for fields.Next() {
		switch fields.Key() {
		case "name", "arguments":
			c.bytes += fields.StringBytes()
		}
	}
}

// countPrompt counts the pending completions "prompt" or embeddings "input"
// of it: a string, or an array of strings, token ids, or arrays of token ids.
func countPrompt(c *tokenCount, it *jsonwalk.Iter) {
	if it.Peek() == '"' {
		c.bytes += it.StringBytes()
		return
	}
	elems := it.Enter()
	for elems.Next() {
		switch elem := elems.Peek(); {
		case elem == '"':
			c.bytes += elems.StringBytes()
		case isNumberStart(elem):
			c.tokens++
		case elem == '{':
			countItem(c, &elems)
		case elem == '[':
			ids := elems.Enter()
			for ids.Next() {
				if isNumberStart(ids.Peek()) {
					c.tokens++
				}
			}
		}
	}
}

// countItem counts the pending item of a Responses API "input" array: a
// message (its content), a function call (its name and arguments) or a
// function call's output.
func countItem(c *tokenCount, it *jsonwalk.Iter) {
	c.tokens += messageOverheadTokens
	fields := it.Enter()
	for fields.Next() {
		switch fields.Key() {
		case "content", "output":
			countContent(c, &fields)
		case "name", "arguments":
			c.bytes += fields.StringBytes()
		}
	}
}

// isNumberStart reports whether a JSON value starting with b is a number.
func isNumberStart(b byte) bool {
	return b == '-' || b >= '0' && b <= '9'
}
