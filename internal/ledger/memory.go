package ledger

import (
	"context"
	"sort"
	"sync"
)

// MaxMemoryClients bounds a Memory ledger: clients beyond it are pooled
// under OverflowClient, so a flood of distinct keys cannot grow it forever.
const (
	MaxMemoryClients = 100_000
	OverflowClient   = "(other clients)"
)

// Memory is a ledger of per-client totals kept in the process: billable and
// absorbed spend apart, since clients are only ever charged the billable
// part. It keeps no rows, so it answers nothing about single requests or
// time ranges.
type Memory struct {
	mu         sync.Mutex
	clients    map[string]*ClientSpend
	maxClients int
}

// NewMemory returns an empty Memory ledger.
func NewMemory() *Memory {
	return &Memory{clients: make(map[string]*ClientSpend), maxClients: MaxMemoryClients}
}

// Record adds e to its client's totals.
func (m *Memory) Record(e Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	client := e.Client
	c := m.clients[client]
	if c == nil {
		if len(m.clients) >= m.maxClients {
			client = OverflowClient
			c = m.clients[client]
		}
		if c == nil {
			c = &ClientSpend{Client: client}
			m.clients[client] = c
		}
	}
	c.add(&e)
}

// Clients returns a copy of every client's totals, sorted by client. It
// never fails.
func (m *Memory) Clients(context.Context) ([]ClientSpend, error) {
	m.mu.Lock()
	out := make([]ClientSpend, 0, len(m.clients))
	for _, c := range m.clients {
		out = append(out, *c)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out, nil
}

// Usage returns ErrNoHistory: Memory keeps totals, not a time series.
func (m *Memory) Usage(context.Context, UsageQuery) ([]UsageRow, error) { return nil, ErrNoHistory }

// Close does nothing: Memory has nothing to write out, and its totals stay
// readable.
func (m *Memory) Close() error { return nil }

// Interface guards
var _ Ledger = (*Memory)(nil)
