package vendors

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/caddy-llm/llmrouter/internal/meter"
)

// maxMessageBytes caps messages passed on to clients and logs: some vendors
// echo large parts of the request in their errors.
const maxMessageBytes = 500

// credentialsRejectedMessage replaces the vendor's own text when it rejected
// our credential: the client did nothing wrong, and vendors such as OpenAI
// echo part of the key ("Incorrect API key provided: sk-...abcd").
const credentialsRejectedMessage = "vendor rejected the router's credentials"

const redacted = "[redacted]"

// ErrorMessage extracts a human-readable message from a vendor error body,
// trying in order (see meter.ReadError):
//
//   - error.message (OpenAI, Azure, Mistral, DeepSeek, Anthropic, Gemini
//     native and Vertex, Volcengine), also inside the one-element array
//     Gemini's OpenAI-compatible endpoint wraps errors in;
//   - error as a plain string (xAI, Ollama);
//   - a top-level message (Bedrock; Mistral's 422 puts a validation detail
//     object there);
//   - a top-level detail (FastAPI-based servers such as some vLLM setups).
//
// It returns "" when none is found (the caller then uses the status text).
// The result is valid UTF-8 and at most 500 bytes. It does not know any key:
// use [Vendor.ErrorMessage] for text that may reach a client or a log.
func ErrorMessage(body []byte) string {
	return truncateUTF8(extractMessage(body), maxMessageBytes)
}

// ErrorMessage is [ErrorMessage] made safe to show: every occurrence of the
// vendor's API key is replaced with "[redacted]", and for a credential
// rejection (401, 403, or a kind-specific equivalent such as xAI's 400) a
// fixed message replaces the vendor's text, because some vendors echo part of
// the key, which plain redaction cannot catch. The result is at most 500
// bytes, cut on a UTF-8 boundary.
func (v *Vendor) ErrorMessage(status int, body []byte) string {
	if status == http.StatusUnauthorized || status == http.StatusForbidden ||
		v.Classify(status, body).Reason == ReasonAuth {
		return credentialsRejectedMessage
	}
	return v.Redact(extractMessage(body))
}

// Redact makes a vendor's text safe to show a client or a log: every
// occurrence of the vendor's API key becomes "[redacted]", and the result is
// cut to at most 500 bytes on a UTF-8 boundary.
func (v *Vendor) Redact(msg string) string {
	// Redact before truncating, so that a key straddling the cut cannot
	// leave a prefix of itself behind.
	// A key shorter than any real one (a test's "k") would redact ordinary
	// words instead.
	if len(v.key) >= minRedactedKey {
		msg = strings.ReplaceAll(msg, v.key, redacted)
		// A vendor echoing a URL would show the key query-escaped.
		if v.keyEscaped != "" {
			msg = strings.ReplaceAll(msg, v.keyEscaped, redacted)
		}
	}
	return truncateUTF8(msg, maxMessageBytes)
}

// extractMessage returns the untruncated message of an error body, as the
// one reader of vendors' error shapes (meter.ReadError) finds it.
func extractMessage(body []byte) string {
	e, _ := meter.ReadError(body)
	return e.Message
}

// truncateUTF8 makes s valid UTF-8 and cuts it to at most n bytes without
// splitting a character.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// minRedactedKey is the shortest key Redact looks for.
const minRedactedKey = 8

// Leaks reports whether s contains the vendor's API key, so that a header or
// body the vendor sent can be kept from the client.
func (v *Vendor) Leaks(s string) bool {
	return len(v.key) >= minRedactedKey && (strings.Contains(s, v.key) || v.keyEscaped != "" && strings.Contains(s, v.keyEscaped))
}

// RedactBody replaces the vendor's API key wherever it appears in body (an
// error body passed on to the client), without changing anything else.
func (v *Vendor) RedactBody(body []byte) []byte {
	if len(v.key) < minRedactedKey || !bytes.Contains(body, []byte(v.key)) {
		return body
	}
	return bytes.ReplaceAll(body, []byte(v.key), []byte(redacted))
}
