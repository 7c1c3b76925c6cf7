package selector

import "sync"

// Store hands out the RouteStats for a route key. The same key must always
// yield the same pointer, because what was learned about a route has to
// survive config reloads.
type Store interface {
	// Route returns the RouteStats for key, creating it on first use.
	Route(key string) *RouteStats
}

// Shared is the process-wide Store. Callers use it rather than their own so
// that a config reload, which builds new handlers, keeps the learned state.
var Shared Store = NewMemoryStore()

// MemoryStore is a Store kept in memory. It is safe for concurrent use.
// Lookups take a lock; they are meant for provisioning, not for every
// request.
type MemoryStore struct {
	mu     sync.Mutex
	routes map[string]*RouteStats
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{routes: make(map[string]*RouteStats)}
}

// Route returns the RouteStats for key, creating it on first use. Entries
// are never removed: there is one per configured route, so the map stays
// small, and a route dropped by one reload may come back with the next.
func (m *MemoryStore) Route(key string) *RouteStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.routes[key]
	if !ok {
		s = new(RouteStats)
		m.routes[key] = s
	}
	return s
}
