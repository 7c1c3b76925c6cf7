package llmrouter

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// DefaultLedgerKey is the placeholder whose value names the client in the
// spend ledger: the user an authentication handler identified.
const DefaultLedgerKey = "{http.auth.user.id}"

// clientIdentity names the client in the ledger: the configured placeholder
// (by default the authenticated user), else a hash of the client's bearer
// token or API key, never the token itself, else "anonymous". repl is the
// request's replacer (nil: none), which the caller has looked up already.
func (h *LLMRouter) clientIdentity(r *http.Request, repl *caddy.Replacer) string {
	if repl != nil {
		var id string
		if h.ledgerPlaceholder != "" {
			// The usual case ({http.auth.user.id}): a lookup, without
			// parsing the template on every request.
			id, _ = repl.GetString(h.ledgerPlaceholder)
		} else {
			id = repl.ReplaceAll(h.ledgerKey, "")
		}
		if id = strings.TrimSpace(id); id != "" {
			return id
		}
	}
	token := headerValue(r.Header, "Authorization")
	if t, ok := strings.CutPrefix(token, "Bearer "); ok {
		token = t
	}
	for _, name := range []string{"Api-Key", "X-Api-Key"} {
		if token == "" {
			token = headerValue(r.Header, name)
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(token))
	return "key:" + hex.EncodeToString(sum[:8])
}

// singlePlaceholder reports whether template is exactly one placeholder,
// "{name}", and returns its name.
func singlePlaceholder(template string) (string, bool) {
	if len(template) < 3 || template[0] != '{' || template[len(template)-1] != '}' {
		return "", false
	}
	name := template[1 : len(template)-1]
	if strings.ContainsAny(name, "{}:\\") {
		return "", false
	}
	return name, true
}
