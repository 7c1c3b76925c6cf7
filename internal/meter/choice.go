package meter

import (
	"strings"

	"github.com/caddy-llm/llmrouter/internal/jsonwalk"
)

// choiceInfo is what one element of "choices" says about generated output.
type choiceInfo struct {
	content bool   // it carries generated output (a token)
	bytes   int    // rough size of that output, for estimating tokens
	finish  string // finish_reason as written (escaped), "" when null or absent

	// For Stream's content template: where the delta's or message's
	// "content" string is (s[textAt:textEnd], quotes included; textEnd is 0
	// when there is none), how many "content" members there were, and how
	// many members carried output (the content string among them, when it
	// is not empty).
	textAt, textEnd int
	contentKeys     int
	outputs         int
}

// onlyText reports whether the choice's one "content" string, at
// s[textAt:textEnd], is all it says: no other output, and no finish_reason.
// What the choice says then depends on nothing else in it.
func (c *choiceInfo) onlyText() bool {
	if c.contentKeys != 1 || c.textEnd == 0 || c.finish != "" {
		return false
	}
	want := 0
	if c.textEnd-c.textAt > 2 {
		want = 1 // the content string itself
	}
	return c.outputs == want
}

// choices is what the "choices" member of a chunk or response says, read in
// one pass.
type choices struct {
	present bool // the member exists, whatever its value
	count   int  // its elements
	// onlyText is whether the only element is a choice whose "content"
	// string, at textAt:textEnd, is all it says (choiceInfo.onlyText).
	onlyText        bool
	textAt, textEnd int
	content         bool   // some choice carries generated output
	bytes           int    // the rough size of that output
	firstFinish     string // the first choice's finish_reason, as written
	lastFinish      string // the last non-empty finish_reason, as written
}

// read reads the value of "choices" at s[v] and returns the offset just past
// it, or -1 if it is malformed.
func (cs *choices) read(s string, v int) int {
	cs.present = true
	if v >= len(s) || s[v] != '[' {
		return jsonwalk.SkipValue(s, v)
	}
	return jsonwalk.SkipOr(s, v, jsonwalk.WalkArray(s, v, func(e int) int {
		var c choiceInfo
		end := readChoice(s, e, &c)
		cs.count++
		if c.content {
			cs.content = true
			cs.bytes += c.bytes
		}
		if cs.count == 1 {
			cs.firstFinish = c.finish
			if c.onlyText() {
				cs.onlyText, cs.textAt, cs.textEnd = true, c.textAt, c.textEnd
			}
		} else {
			cs.onlyText, cs.textAt, cs.textEnd = false, 0, 0
		}
		if c.finish != "" {
			cs.lastFinish = c.finish
		}
		return end
	}))
}

// readChoice reads the element of "choices" at s[v]: a streaming chunk's
// (delta) or a complete response's (message), or a legacy completion's
// (text). It returns the offset just past it, or -1.
func readChoice(s string, v int, c *choiceInfo) int {
	if v >= len(s) || s[v] != '{' {
		return jsonwalk.SkipValue(s, v)
	}
	return jsonwalk.SkipOr(s, v, jsonwalk.WalkObject(s, v, func(key string, v int) int {
		switch key {
		case "delta", "message":
			if v < len(s) && s[v] == '{' {
				return jsonwalk.SkipOr(s, v, c.readMessage(s, v))
			}
		case "text":
			end := jsonwalk.SkipValue(s, v)
			if end > 0 {
				c.addText(s[v:end])
			}
			return end
		case "finish_reason":
			end := jsonwalk.SkipValue(s, v)
			if end > 0 {
				c.finish = jsonwalk.StringBody(s[v:end])
			}
			return end
		}
		return jsonwalk.SkipValue(s, v)
	}))
}

// readMessage reads the delta or message object at s[v].
func (c *choiceInfo) readMessage(s string, v int) int {
	return jsonwalk.WalkObject(s, v, func(key string, v int) int {
		end := jsonwalk.SkipValue(s, v)
		if end < 0 {
			return end
		}
		raw := s[v:end]
		switch key {
		case "content":
			c.contentKeys++
			if len(raw) > 0 && raw[0] == '"' {
				c.textAt, c.textEnd = v, end
			}
			// Some vendors (Mistral's reasoning models) send content as an
			// array of parts rather than a string.
			if jsonwalk.NonEmptyArray(raw) {
				c.content = true
				c.bytes += len(raw)
				c.outputs++
			} else {
				c.addText(raw)
			}
		case "reasoning_content", "reasoning", "refusal":
			// "reasoning" is the newer name some OpenAI-compatible servers
			// (vLLM, OpenRouter) use for what DeepSeek calls
			// "reasoning_content".
			c.addText(raw)
		case "tool_calls":
			if jsonwalk.NonEmptyArray(raw) {
				c.content = true
				c.bytes += toolCallsBytes(raw)
				c.outputs++
			}
		case "function_call":
			if jsonwalk.IsObject(raw) {
				c.content = true
				c.bytes += functionBytes(raw)
				c.outputs++
			}
		}
		return end
	})
}

// addText counts a non-empty string of generated text.
func (c *choiceInfo) addText(raw string) {
	if jsonwalk.NonEmptyString(raw) {
		c.content = true
		c.bytes += len(raw) - 2
		c.outputs++
	}
}

// toolCallsBytes is the size of the functions called in the tool_calls
// array raw.
func toolCallsBytes(raw string) int {
	n := 0
	jsonwalk.WalkArray(raw, 0, func(v int) int {
		return jsonwalk.SkipOr(raw, v, jsonwalk.WalkObject(raw, v, func(key string, v int) int {
			end := jsonwalk.SkipValue(raw, v)
			if key == "function" && end > 0 {
				n += functionBytes(raw[v:end])
			}
			return end
		}))
	})
	return n
}

// functionBytes is the size of a function call's name and arguments: what the
// model generated, without the JSON around it.
func functionBytes(fn string) int {
	n := 0
	jsonwalk.WalkObject(fn, 0, func(key string, v int) int {
		end := jsonwalk.SkipValue(fn, v)
		if (key == "name" || key == "arguments") && end > 0 {
			n += len(jsonwalk.StringBody(fn[v:end]))
		}
		return end
	})
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
