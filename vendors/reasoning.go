package vendors

import (
	"fmt"
	"strings"
)

// OpenAI's reasoning_effort values, lowest first. "none" (GPT-5.1 and later)
// turns reasoning off; "xhigh" is the newest models' top level.
var reasoningEfforts = [...]string{"none", "minimal", "low", "medium", "high", "xhigh"}

// parseReasoningEffort checks a client's reasoning_effort; "" when absent.
func parseReasoningEffort(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	for _, e := range reasoningEfforts {
		if s == e {
			return s, nil
		}
	}
	return "", fmt.Errorf("reasoning_effort %q is not one of %s", s, strings.Join(reasoningEfforts[:], ", "))
}

// minThinkingBudget is the smallest thinking budget Anthropic accepts
// (budget_tokens >= 1024); Gemini 2.5 Pro's smallest is 128, so it holds
// there too.
const minThinkingBudget = 1024

// thinkingBudget is the thinking budget, in tokens, of a native API that
// counts thinking in tokens (Anthropic's budget_tokens, Gemini 2.x's
// thinkingBudget) for a reasoning_effort: Google's own mapping of its
// OpenAI-compatible endpoint (low 1K, medium 8K, high 24K), which makes the
// same effort cost alike on every vendor. 0 means no thinking: none and
// minimal, and no effort given (the vendor's default applies).
func thinkingBudget(effort string) int {
	switch effort {
	case "low":
		return minThinkingBudget
	case "medium":
		return 8192
	case "high", "xhigh":
		return 24576
	}
	return 0
}

// anthropicThinking is Anthropic's extended thinking setting (also Claude's
// on Bedrock, in additionalModelRequestFields).
type anthropicThinking struct {
	Type         string `json:"type"` // enabled
	BudgetTokens int    `json:"budget_tokens"`
}

// claudeThinking decides extended thinking for a chat request to Claude,
// and the max_tokens to send with it. maxTokens is what the request would
// send without thinking (the client's bound, else the vendor's default).
//
// OpenAI's max_completion_tokens bounds reasoning and answer together, and
// so does Anthropic's max_tokens: a client's bound is kept, and the budget
// is at most half of it (Anthropic requires budget_tokens < max_tokens);
// a bound too small for the smallest budget gets no thinking. Without a
// client bound, the vendor's default is the answer's room and the budget
// comes on top.
//
// Thinking is left off where Anthropic would refuse it: a tool_choice that
// forces a tool, and a conversation that continues the model's own turn
// (the last message is the assistant's, or tool results answer its tool
// calls) since Anthropic then wants that turn's thinking blocks back, with
// signatures a chat completions client never had.
func claudeThinking(r *chatRequest, maxTokens int) (*anthropicThinking, int) {
	budget := thinkingBudget(r.ReasoningEffort)
	if budget == 0 || r.ToolChoice.Mode == "required" || r.ToolChoice.Mode == "function" || r.continuesAssistantTurn() {
		return nil, maxTokens
	}
	if r.MaxTokens > 0 {
		budget = min(budget, r.MaxTokens/2)
		if budget < minThinkingBudget {
			return nil, maxTokens
		}
		return &anthropicThinking{Type: "enabled", BudgetTokens: budget}, maxTokens
	}
	return &anthropicThinking{Type: "enabled", BudgetTokens: budget}, maxTokens + budget
}

// continuesAssistantTurn reports whether the conversation continues the
// model's own turn: it ends with an assistant message, or with tool results
// after the assistant's tool calls.
func (r *chatRequest) continuesAssistantTurn() bool {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		switch r.Messages[i].Role {
		case "assistant":
			return true
		case "tool":
			continue
		case "system", "developer":
			continue
		default:
			return false
		}
	}
	return false
}

// geminiThinking is generationConfig.thinkingConfig.
type geminiThinking struct {
	ThinkingBudget  *int   `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
}

// geminiThinkingFor maps reasoning_effort to Gemini's thinkingConfig for
// model; nil when the client gave none. Gemini 2.x counts thinking in
// tokens (thinkingBudget; 0 turns it off, which 2.5 Pro refuses, so there
// none and minimal get the smallest budget instead); later models take a
// thinkingLevel, of which every one of them accepts "low" and "high". The
// thoughts come back as summaries (includeThoughts), which the translation
// passes on as reasoning_content. The two settings cannot be combined.
func geminiThinkingFor(model, effort string) *geminiThinking {
	if effort == "" {
		return nil
	}
	name := model[strings.LastIndexByte(model, '/')+1:]
	if strings.HasPrefix(name, "gemini-2") {
		budget := thinkingBudget(effort)
		if budget == 0 {
			if strings.Contains(name, "-pro") {
				budget = 128 // 2.5 Pro cannot stop thinking
			} else {
				return &geminiThinking{ThinkingBudget: &budget}
			}
		}
		return &geminiThinking{ThinkingBudget: &budget, IncludeThoughts: true}
	}
	level := "high"
	switch effort {
	case "none", "minimal", "low":
		level = "low"
	}
	return &geminiThinking{ThinkingLevel: level, IncludeThoughts: true}
}
