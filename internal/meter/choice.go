package meter

import "strings"

// choiceInfo is what one element of "choices" says about generated output.
type choiceInfo struct {
	content bool   // it carries generated output (a token)
	bytes   int    // rough size of that output, for estimating tokens
	finish  string // finish_reason as written (escaped), "" when null or absent
}

// inspectChoice reads one raw element of "choices": a streaming chunk's
// (delta) or a complete response's (message), or a legacy completion's (text).
func inspectChoice(choice string) choiceInfo {
	var c choiceInfo
	for key, v := range fields(choice) {
		switch key {
		case "delta", "message":
			c.addMessage(v)
		case "text":
			c.addText(v)
		case "finish_reason":
			c.finish = stringBody(v)
		}
	}
	return c
}

// addMessage reads a delta or message object.
func (c *choiceInfo) addMessage(msg string) {
	for key, v := range fields(msg) {
		switch key {
		case "content":
			// Some vendors (Mistral's reasoning models) send content as an
			// array of parts rather than a string.
			if nonEmptyArray(v) {
				c.content = true
				c.bytes += len(v)
				continue
			}
			c.addText(v)
		case "reasoning_content", "reasoning", "refusal":
			// "reasoning" is the newer name some OpenAI-compatible servers
			// (vLLM, OpenRouter) use for what DeepSeek calls
			// "reasoning_content".
			c.addText(v)
		case "tool_calls":
			if nonEmptyArray(v) {
				c.content = true
				for call := range elements(v) {
					for k, fn := range fields(call) {
						if k == "function" {
							c.bytes += functionBytes(fn)
						}
					}
				}
			}
		case "function_call":
			if isObject(v) {
				c.content = true
				c.bytes += functionBytes(v)
			}
		}
	}
}

// addText counts a non-empty string of generated text.
func (c *choiceInfo) addText(raw string) {
	if nonEmptyString(raw) {
		c.content = true
		c.bytes += len(raw) - 2
	}
}

// functionBytes is the size of a function call's name and arguments: what the
// model generated, without the JSON around it.
func functionBytes(fn string) int {
	n := 0
	for k, v := range fields(fn) {
		if k == "name" || k == "arguments" {
			n += len(stringBody(v))
		}
	}
	return n
}

// internFinish returns finish_reason as a string that does not alias the
// vendor's bytes, without allocating for the reasons vendors actually send.
func internFinish(raw string) string {
	switch raw {
	case "":
		return ""
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	case "function_call":
		return "function_call"
	}
	return strings.Clone(raw) // raw aliases the vendor's buffer
}
