package vendors

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Replay safety on the Messages passthrough (as sanitize.go is for chat): a
// Messages client keeps its conversation and sends it whole with every
// turn, so a turn another vendor answered (through the chat bridge, or at
// another gateway) reaches Claude with what that vendor wrote:
//
//   - thinking blocks whose signature Claude did not make: the bridge gives
//     reasoning as a thinking block with an empty signature, other gateways
//     put their own tokens there. Claude verifies every signature it is
//     given and answers 400 to these, so they are left out; Claude reads
//     earlier turns' thinking only to check it, and a turn without it is
//     what a client that drops thinking sends. redacted_thinking blocks are
//     left out the same way when their data is not Claude's.
//   - tool ids outside Claude's alphabet (^[a-zA-Z0-9_-]+$), e.g. a Gemini
//     call id that carries its thought signature: rewritten in tool_use and
//     tool_result alike (anthropicToolID), so that a call and its result
//     still match.
//
// Claude's signatures are base64 of an opaque, encrypted message: what is
// not standard base64 of at least claudeMinSignatureBytes bytes cannot be
// one. (A signature of another vendor that is base64 too is not told apart;
// the router itself never writes one into a thinking block.) An assistant
// turn left with no content is left out (Claude joins the turns around it).

// claudeMinSignatureBytes is the least a Claude signature decodes to; real
// ones are hundreds of bytes.
const claudeMinSignatureBytes = 16

// isClaudeSignature reports whether s can be a signature Claude made.
func isClaudeSignature(s string) bool {
	if len(s) < 4 || len(s)%4 != 0 {
		return false
	}
	n, err := base64.StdEncoding.Strict().Decode(make([]byte, base64.StdEncoding.DecodedLen(len(s))), []byte(s))
	return err == nil && n >= claudeMinSignatureBytes
}

// messagesReplaySafe returns body with what Claude would refuse from other
// vendors' turns removed or rewritten, or body itself when there is none.
func messagesReplaySafe(body []byte) ([]byte, error) {
	// Most requests have neither thinking blocks nor tool ids; a substring
	// search is far cheaper than walking every message.
	if !bytes.Contains(body, []byte(`thinking"`)) && !bytes.Contains(body, []byte(`"tool_`)) {
		return body, nil
	}
	msgs := gjson.GetBytes(body, "messages")
	if !msgs.IsArray() {
		return body, nil
	}
	var err error
	changed := false
	out := make([]byte, 0, len(msgs.Raw))
	out = append(out, '[')
	msgs.ForEach(func(_, m gjson.Result) bool {
		raw := m.Raw
		if content := m.Get("content"); content.IsArray() {
			blocks, kept, edited := replaySafeBlocks(content)
			switch {
			case !edited:
			case kept == 0:
				changed = true
				return true // a turn of nothing but foreign thinking
			default:
				changed = true
				if raw, err = sjson.SetRaw(raw, "content", blocks); err != nil {
					return false
				}
			}
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, raw...)
		return true
	})
	if err != nil || !changed {
		return body, err
	}
	return sjson.SetRawBytes(body, "messages", append(out, ']'))
}

// replaySafeBlocks rebuilds a content array without foreign thinking and
// with Claude's tool ids; edited says whether anything changed, kept how
// many blocks are left.
func replaySafeBlocks(content gjson.Result) (blocks string, kept int, edited bool) {
	var b strings.Builder
	b.WriteByte('[')
	content.ForEach(func(_, block gjson.Result) bool {
		raw := block.Raw
		switch block.Get("type").String() {
		case "thinking":
			if !isClaudeSignature(block.Get("signature").String()) {
				edited = true
				return true
			}
		case "redacted_thinking":
			if !isClaudeSignature(block.Get("data").String()) {
				edited = true
				return true
			}
		case "tool_use":
			raw = withClaudeToolID(raw, block, "id", &edited)
		case "tool_result":
			raw = withClaudeToolID(raw, block, "tool_use_id", &edited)
		}
		if kept > 0 {
			b.WriteByte(',')
		}
		b.WriteString(raw)
		kept++
		return true
	})
	b.WriteByte(']')
	return b.String(), kept, edited
}

// withClaudeToolID rewrites block's id member when Claude would refuse it.
func withClaudeToolID(raw string, block gjson.Result, member string, edited *bool) string {
	id := block.Get(member)
	if id.Type != gjson.String {
		return raw
	}
	safe := anthropicToolID(id.Str)
	if safe == id.Str {
		return raw
	}
	out, err := sjson.Set(raw, member, safe)
	if err != nil {
		return raw
	}
	*edited = true
	return out
}
