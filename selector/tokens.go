package selector

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
}

func (c *tokenCount) total() int {
	return c.tokens + (c.bytes+bytesPerToken-1)/bytesPerToken
}

// EstimatePromptTokens returns a cheap estimate of the prompt tokens of an
// OpenAI request body, at about 4 bytes per token. It counts:
//
//   - chat completions "messages": string "content", the "text" of content
//     parts (image, audio and file parts are ignored), "name", and the name
//     and arguments of "tool_calls" and legacy "function_call", plus a small
//     per-message overhead;
//   - the "tools" and legacy "functions" definitions, as their raw JSON
//     length, because vendors bill and process them as prompt;
//   - legacy completions "prompt" and embeddings "input", each a string, an
//     array of strings, or already tokenized (an array of token ids, or an
//     array of such arrays; each id counts as one token).
//
// It returns 0 for a body with none of these fields. It reads the body in a
// single pass, does not allocate and never panics: malformed JSON just
// yields a smaller estimate.
func EstimatePromptTokens(body []byte) int {
	var c tokenCount
	top := newJSONIter(body)
	for top.next() {
		countMember(&c, top.key(), &top)
	}
	return c.total()
}

// PromptEstimator is EstimatePromptTokens for a caller that walks the body's
// top level anyway (the router's validating pass): it counts the members it
// is handed, while they are still in the cache, and saves a second walk.
type PromptEstimator struct{ c tokenCount }

// Member counts one top-level member, given its key without quotes and its
// raw value. Members that say nothing about the prompt cost nothing.
func (e *PromptEstimator) Member(key, value []byte) {
	switch string(key) {
	case "messages", "prompt", "input", "tools", "functions":
		it := jsonIter{b: value, pending: len(value) > 0}
		countMember(&e.c, key, &it)
	}
}

// Tokens is the estimate of the members counted so far.
func (e *PromptEstimator) Tokens() int { return e.c.total() }

// countMember counts the top-level member named key whose value is pending
// in it.
func countMember(c *tokenCount, key []byte, it *jsonIter) {
	switch string(key) {
	case "messages":
		countMessages(c, it)
	case "prompt", "input":
		countPrompt(c, it)
	case "tools", "functions":
		if it.peek() == '[' {
			c.bytes += len(it.value())
		}
	}
}

// countMessages counts the pending chat completions "messages" array of it.
func countMessages(c *tokenCount, it *jsonIter) {
	msgs := it.enter()
	for msgs.next() {
		if msgs.peek() != '{' {
			continue
		}
		c.tokens += messageOverheadTokens
		m := msgs.enter()
		for m.next() {
			switch string(m.key()) {
			case "content":
				countContent(c, &m)
			case "name":
				c.bytes += stringBytes(m.value())
			case "tool_calls":
				calls := m.enter()
				for calls.next() {
					call := calls.enter()
					for call.next() {
						if string(call.key()) == "function" {
							countFunctionCall(c, &call)
						}
					}
				}
			case "function_call":
				countFunctionCall(c, &m)
			}
		}
	}
}

// countContent counts the pending message "content" of it: a string, or an
// array of parts of which only the "text" ones are prompt text.
func countContent(c *tokenCount, it *jsonIter) {
	if it.peek() == '"' {
		c.bytes += stringBytes(it.value())
		return
	}
	parts := it.enter()
	for parts.next() {
		part := parts.enter()
		for part.next() {
			if string(part.key()) == "text" {
				c.bytes += stringBytes(part.value())
			}
		}
	}
}

// countFunctionCall counts the name and arguments of the pending
// {"name", "arguments"} object of it.
func countFunctionCall(c *tokenCount, it *jsonIter) {
	fields := it.enter()
	for fields.next() {
		switch string(fields.key()) {
		case "name", "arguments":
			c.bytes += stringBytes(fields.value())
		}
	}
}

// countPrompt counts the pending completions "prompt" or embeddings "input"
// of it: a string, or an array of strings, token ids, or arrays of token ids.
func countPrompt(c *tokenCount, it *jsonIter) {
	if it.peek() == '"' {
		c.bytes += stringBytes(it.value())
		return
	}
	elems := it.enter()
	for elems.next() {
		switch elem := elems.peek(); {
		case elem == '"':
			c.bytes += stringBytes(elems.value())
		case isNumberStart(elem):
			c.tokens++
		case elem == '[':
			ids := elems.enter()
			for ids.next() {
				if isNumberStart(ids.peek()) {
					c.tokens++
				}
			}
		}
	}
}

// isNumberStart reports whether a JSON value starting with b is a number.
func isNumberStart(b byte) bool {
	return b == '-' || b >= '0' && b <= '9'
}
