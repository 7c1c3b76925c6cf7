package llmrouter

import (
	"sort"
	"sync"
)

// maxLedgerClients bounds the ledger's memory: clients beyond it are pooled
// under overflowClient, so a flood of distinct keys cannot grow it forever.
const (
	maxLedgerClients = 100_000
	overflowClient   = "(other clients)"
)

// ledger totals spend per client for the whole process, across reloads.
// Billable and absorbed spend are kept apart: clients are only ever charged
// the billable part.
var ledger = &spendLedger{clients: make(map[string]*clientSpend)}

type spendLedger struct {
	mu      sync.Mutex
	clients map[string]*clientSpend
}

// clientSpend is one client's totals, in the admin API's shape.
type clientSpend struct {
	Client                   string  `json:"client"`
	Requests                 int64   `json:"requests"`
	BillableRequests         int64   `json:"billable_requests"`
	BillablePromptTokens     int64   `json:"billable_prompt_tokens"`
	BillableCompletionTokens int64   `json:"billable_completion_tokens"`
	BillableCostUSD          float64 `json:"billable_cost_usd"`
	AbsorbedPromptTokens     int64   `json:"absorbed_prompt_tokens"`
	AbsorbedCompletionTokens int64   `json:"absorbed_completion_tokens"`
	AbsorbedCostUSD          float64 `json:"absorbed_cost_usd"`
}

func (l *spendLedger) record(client string, isBillable bool, st *requestState, cost float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[client]
	if c == nil {
		if len(l.clients) >= maxLedgerClients {
			client = overflowClient
			c = l.clients[client]
		}
		if c == nil {
			c = &clientSpend{Client: client}
			l.clients[client] = c
		}
	}
	c.Requests++
	if isBillable {
		c.BillableRequests++
		c.BillablePromptTokens += int64(st.result.usage.PromptTokens)
		c.BillableCompletionTokens += int64(st.result.usage.CompletionTokens)
		c.BillableCostUSD += cost
	}
	c.AbsorbedPromptTokens += int64(st.result.absorbed.PromptTokens)
	c.AbsorbedCompletionTokens += int64(st.result.absorbed.CompletionTokens)
	c.AbsorbedCostUSD += st.result.absorbedCost
}

// snapshot returns a copy of every client's totals, sorted by client.
func (l *spendLedger) snapshot() []clientSpend {
	l.mu.Lock()
	out := make([]clientSpend, 0, len(l.clients))
	for _, c := range l.clients {
		out = append(out, *c)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out
}
