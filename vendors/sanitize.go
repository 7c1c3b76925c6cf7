package vendors

import (
	"bytes"
	"crypto/sha256"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Replay safety: when a request fails over from one vendor to another, the
// same OpenAI body goes to a vendor that may refuse parts of it. Each kind's
// sanitize hook fixes what its API would reject, so that the failover
// succeeds instead of turning into a 400 or 422. It works on the attempt's
// own copy of the body, never on the client's.

// openAIOnlyFields are request fields only OpenAI (and Azure, and servers
// that copy OpenAI) understand; other vendors reject or misread them.
var openAIOnlyFields = []string{"store", "metadata", "service_tier", "user"}

// dropOpenAIOnly removes openAIOnlyFields.
func dropOpenAIOnly(body []byte, a Attempt) ([]byte, error) {
	return deleteFields(body, a, openAIOnlyFields...)
}

// deleteFields removes each present top-level field. a.Layout tells which
// cannot be there.
func deleteFields(body []byte, a Attempt, fields ...string) ([]byte, error) {
	var err error
	for _, f := range fields {
		if !mayHave(a, f) || !gjson.GetBytes(body, f).Exists() {
			continue
		}
		if body, err = sjson.DeleteBytes(body, f); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// renameField moves a top-level field to a new name, unless the new name is
// already set (then the old one is dropped). a.Layout tells whether from
// cannot be there.
func renameField(body []byte, a Attempt, from, to string) ([]byte, error) {
	if !mayHave(a, from) {
		return body, nil
	}
	v := gjson.GetBytes(body, from)
	if !v.Exists() {
		return body, nil
	}
	var err error
	if !gjson.GetBytes(body, to).Exists() {
		if body, err = sjson.SetRawBytes(body, to, []byte(v.Raw)); err != nil {
			return nil, err
		}
	}
	return sjson.DeleteBytes(body, from)
}

// mistralFields is the allow-list of Mistral's chat completions API, which
// answers 422 extra_forbidden to any other field.
var mistralFields = map[string]bool{
	"model": true, "messages": true, "temperature": true, "top_p": true, "max_tokens": true, "stream": true,
	"stop": true, "random_seed": true, "response_format": true, "tools": true, "tool_choice": true,
	"presence_penalty": true, "frequency_penalty": true, "n": true, "prediction": true,
	"parallel_tool_calls": true, "prompt_mode": true, "safe_prompt": true,
}

// mistralFieldSet is mistralFields as a fieldSet.
var mistralFieldSet = func() fieldSet {
	var s fieldSet
	for name := range mistralFields {
		s |= fieldsNamed(name)
	}
	return s
}()

// sanitizeMistral maps OpenAI names to Mistral's (seed, max_completion_tokens),
// rewrites tool call ids to Mistral's format, and drops every field Mistral
// does not accept.
func sanitizeMistral(body []byte, a Attempt) ([]byte, error) {
	body, err := renameField(body, a, "seed", "random_seed")
	if err == nil {
		body, err = renameField(body, a, "max_completion_tokens", "max_tokens")
	}
	if err == nil {
		body, err = rewriteToolCallIDs(body, a, isMistralToolID, mistralToolID)
	}
	if err != nil {
		return nil, err
	}
	if hasOnly(a, mistralFieldSet) {
		return body, nil // nothing to drop (and nothing was renamed)
	}
	return keepFields(body, mistralFields), nil
}

// keepFields rebuilds a JSON object with only its allowed top-level members,
// copied byte for byte. It works on members rather than gjson paths: a
// client's key may be anything ("", "a.b", "#", "messages.0"), and as a path
// it would select or delete something else.
func keepFields(body []byte, allowed map[string]bool) []byte {
	out := make([]byte, 0, len(body))
	out = append(out, '{')
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if allowed[k.String()] {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, k.Raw...)
			out = append(out, ':')
			out = append(out, v.Raw...)
		}
		return true
	})
	return append(out, '}')
}

// isMistralToolID reports whether id has Mistral's tool call id format:
// exactly nine ASCII letters and digits.
func isMistralToolID(id string) bool {
	if len(id) != 9 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

const base62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// mistralToolID maps any tool call id to a Mistral-format id. It is a hash,
// so the same id in an assistant's tool_calls and in the matching tool
// message maps the same way without any state.
func mistralToolID(id string) string {
	sum := sha256.Sum256([]byte(id))
	out := make([]byte, 9)
	for i := range out {
		out[i] = base62[int(sum[i])%len(base62)]
	}
	return string(out)
}

// rewriteToolCallIDs rewrites, in every message, tool_calls[].id and
// tool_call_id whose format the vendor rejects.
func rewriteToolCallIDs(body []byte, a Attempt, ok func(string) bool, rewrite func(string) string) ([]byte, error) {
	// Ids live in "tool_call_id" and "tool_calls"; most requests have
	// neither. The router's pass over the messages says so (NoToolCalls);
	// otherwise a substring search is far cheaper than parsing every
	// message. (A key spelled with escapes is not looked at: a vendor that
	// refuses its id answers 400, as it would without the router.)
	if a.Layout.NoToolCalls || !bytes.Contains(body, []byte(`"tool_call`)) {
		return body, nil
	}
	var err error
	msgs := gjson.GetBytes(body, "messages").Array()
	for i, m := range msgs {
		prefix := "messages." + strconv.Itoa(i)
		if id := m.Get("tool_call_id"); id.Type == gjson.String && !ok(id.Str) {
			if body, err = sjson.SetBytes(body, prefix+".tool_call_id", rewrite(id.Str)); err != nil {
				return nil, err
			}
		}
		for j, tc := range m.Get("tool_calls").Array() {
			if id := tc.Get("id"); id.Type == gjson.String && !ok(id.Str) {
				if body, err = sjson.SetBytes(body, prefix+".tool_calls."+strconv.Itoa(j)+".id", rewrite(id.Str)); err != nil {
					return nil, err
				}
			}
		}
	}
	return body, nil
}

// sanitizeX removes what xAI's reasoning models reject: presence_penalty,
// frequency_penalty and stop.
func sanitizeX(body []byte, a Attempt) ([]byte, error) {
	body, err := dropOpenAIOnly(body, a)
	if err != nil || !xReasoningModel(a.Model) {
		return body, err
	}
	return deleteFields(body, a, "presence_penalty", "frequency_penalty", "stop")
}

// xReasoningModel tells xAI's reasoning models by name: grok-4 and its
// variants, the mini models, grok-code, and anything named reasoning, except
// the explicitly non-reasoning variants.
func xReasoningModel(model string) bool {
	m := strings.ToLower(model)
	if strings.Contains(m, "non-reasoning") {
		return false
	}
	return strings.HasPrefix(m, "grok-4") || strings.HasPrefix(m, "grok-code") ||
		strings.Contains(m, "mini") || strings.Contains(m, "reasoning")
}

// sanitizeDeepSeek is sanitizeNonOpenAI plus DeepSeek's name for the
// completion cap: its API documents max_tokens only, and a
// max_completion_tokens it ignores would leave the answer unbounded (and a
// hard budget's worst case with it).
func sanitizeDeepSeek(body []byte, a Attempt) ([]byte, error) {
	body, err := dropOpenAIOnly(body, a)
	if err != nil {
		return nil, err
	}
	return renameField(body, a, "max_completion_tokens", "max_tokens")
}

// sanitizeCompatible sends the completion cap the router added itself
// (Attempt.TokenCapAdded) as max_tokens, the name every OpenAI-compatible
// server knows; whether this one also knows max_completion_tokens is
// unknown. A cap the client chose itself goes as the client named it.
func sanitizeCompatible(body []byte, a Attempt) ([]byte, error) {
	if !a.TokenCapAdded {
		return body, nil
	}
	return renameField(body, a, "max_completion_tokens", "max_tokens")
}

// sanitizeNonOpenAI is the default for OpenAI-compatible vendors that are not
// OpenAI: they misread or reject OpenAI's account-side fields.
func sanitizeNonOpenAI(body []byte, a Attempt) ([]byte, error) {
	return dropOpenAIOnly(body, a)
}

// maxOpenAIToolID is the longest tool call id OpenAI accepts.
const maxOpenAIToolID = 40

// sanitizeOpenAI keeps tool call ids within OpenAI's length limit. Ids minted
// by other vendors can be longer (Gemini's, which carry a thought signature
// through the client's history), and OpenAI answers 400 to them.
func sanitizeOpenAI(body []byte, a Attempt) ([]byte, error) {
	return rewriteToolCallIDs(body, a, func(id string) bool { return len(id) <= maxOpenAIToolID }, openAIToolID)
}

// openAIToolID maps a too-long tool call id to a short one, by hash, so that
// a call and its result still match.
func openAIToolID(id string) string {
	sum := sha256.Sum256([]byte(id))
	out := []byte("call_")
	for _, b := range sum[:24] {
		out = append(out, base62[int(b)%len(base62)])
	}
	return string(out)
}
