package vendors

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Anthropic's Messages API joins the chat bridge (bridge.go): every vendor
// that does not serve Claude takes Messages requests through its chat
// completions, with the conversions of messages_chat.go and
// messages_answer.go.
func init() { bridges[Messages] = newMessagesBridge }

// messagesBridge is the chat bridge of one Messages attempt.
type messagesBridge struct {
	v        *Vendor
	a        Attempt
	thinking bool // the client enabled thinking: reasoning goes back as thinking blocks
}

func newMessagesBridge(v *Vendor, a Attempt) chatBridge {
	th := gjson.GetBytes(a.Body, "thinking.type").String()
	return &messagesBridge{v: v, a: a, thinking: th == "enabled" || th == "adaptive"}
}

func (b *messagesBridge) ChatRequest(a Attempt) ([]byte, error) {
	return messagesChatRequest(a.Body, a.Model, a.Stream, b.thinking && takesReasoningEffort(b.v, a.Model))
}

// ResponseHeaders: nothing to add; what the bridge leaves out (server
// tools, top_k...) has no chat counterpart on any vendor.
func (b *messagesBridge) ResponseHeaders(http.Header) {}

func (b *messagesBridge) Answer(chat []byte, u billing.Usage) ([]byte, error) {
	return messagesFromChat(chat, u, b.thinking)
}

func (b *messagesBridge) NewStream() bridgeStream {
	return &messagesBridgeStream{newMessagesEvents(b.a.Model, b.a.PromptTokens, b.thinking)}
}

func (b *messagesBridge) ErrorBody(h http.Header, status int, openaiErr []byte) []byte {
	return messagesErrorFromChat(h, status, openaiErr)
}

// messagesBridgeStream adapts messagesEvents to bridgeStream.
type messagesBridgeStream struct{ *messagesEvents }

func (s messagesBridgeStream) Finish(dst []byte, end StreamEnd) []byte {
	return s.messagesEvents.Finish(dst, end.Usage, end.Failure)
}

// takesReasoningEffort tells the vendors' models that take chat's
// reasoning_effort, the counterpart of Anthropic's thinking: OpenAI's (and
// Azure's) o-series and gpt-5 models and xAI's grok-3-mini. Other models
// answer 400 to it or ignore it, so they get none.
func takesReasoningEffort(v *Vendor, model string) bool {
	m := strings.ToLower(model)
	switch v.kind.name {
	case "openai", "azure":
		return strings.HasPrefix(m, "o1") || strings.HasPrefix(m, "o3") || strings.HasPrefix(m, "o4") ||
			strings.HasPrefix(m, "gpt-5")
	case "x":
		return strings.HasPrefix(m, "grok-3-mini")
	}
	return false
}

// Interface guards
var (
	_ chatBridge   = (*messagesBridge)(nil)
	_ bridgeStream = messagesBridgeStream{}
)
