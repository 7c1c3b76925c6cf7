package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caddy-llm/llmrouter/internal/billing"
)

// Billable spend counts only billable requests; absorbed spend counts for
// every request and is never billed.
func TestMemory_Record(t *testing.T) {
	m := NewMemory()
	m.Record(Entry{Client: "bob", Billable: true, Usage: billing.Usage{PromptTokens: 10, CompletionTokens: 5}, CostUSD: 0.5,
		Absorbed: billing.Usage{PromptTokens: 7}, AbsorbedCostUSD: 0.25})
	m.Record(Entry{Client: "bob", Outcome: "interrupted", Usage: billing.Usage{PromptTokens: 3, CompletionTokens: 2},
		Absorbed: billing.Usage{PromptTokens: 3, CompletionTokens: 2}, AbsorbedCostUSD: 0.5})
	m.Record(Entry{Client: "alice", Outcome: "vendor_error"})
	assert.Equal(t, []ClientSpend{
		{Client: "alice", Requests: 1},
		{Client: "bob", Requests: 2, BillableRequests: 1, BillablePromptTokens: 10, BillableCompletionTokens: 5,
			BillableCostUSD: 0.5, AbsorbedPromptTokens: 10, AbsorbedCompletionTokens: 2, AbsorbedCostUSD: 0.75},
	}, clients(t, m))
	_, err := m.Usage(t.Context(), UsageQuery{})
	assert.ErrorIs(t, err, ErrNoHistory)
	assert.NoError(t, m.Close())
}

// clients is l.Clients, which must not fail.
func clients(t testing.TB, l Ledger) []ClientSpend {
	t.Helper()
	c, err := l.Clients(context.Background())
	if err != nil {
		t.Errorf("Clients: %v", err) // not Fatal: called from goroutines too
	}
	return c
}

// Clients beyond the bound share one entry, so that a flood of keys cannot
// grow the ledger; the clients already known keep theirs.
func TestMemory_Overflow(t *testing.T) {
	m := NewMemory()
	m.maxClients = 3
	for i := range 5 {
		m.Record(Entry{Client: fmt.Sprint("c", i)})
	}
	m.Record(Entry{Client: "c0"})
	got := clients(t, m)
	assert.Len(t, got, 4)
	assert.Equal(t, ClientSpend{Client: OverflowClient, Requests: 2}, got[0])
	assert.Equal(t, ClientSpend{Client: "c0", Requests: 2}, got[1])
}

func TestMemory_Concurrent(t *testing.T) {
	m := NewMemory()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				m.Record(Entry{Client: fmt.Sprint("c", w%2), Billable: true, Usage: billing.Usage{CompletionTokens: 1}})
				_ = clients(t, m)
			}
		}()
	}
	wg.Wait()
	got := clients(t, m)
	assert.Equal(t, int64(8000), got[0].Requests+got[1].Requests)
	assert.Equal(t, int64(8000), got[0].BillableCompletionTokens+got[1].BillableCompletionTokens)
}
