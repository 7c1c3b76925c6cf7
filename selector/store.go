package selector

import "sync"

// Store hands out the Route of a route key, so that what was learned about
// a route outlives the config that first used it. Each Route call takes a
// reference to the key's Route and must be paired with one Release of the
// key once the caller no longer uses it. While the key is referenced, every
// Route call for it returns the same Route (==). A Route that nothing
// references any more may be dropped: a config reload must take the new
// config's references before it releases the old config's, as Caddy does
// (it provisions the new config before it cleans up the old one).
type Store interface {
	// Route returns the Route for key, creating it on first use, and takes
	// a reference to it.
	Route(key string) Route
	// Release gives back one reference to key's Route.
	Release(key string)
}

// MemoryStore is a Store kept in memory. It counts references: a Route is
// dropped, and a new one made on the next Route call for its key, when
// every Route call for its key has been released. It is safe for concurrent
// use. Lookups take a lock; they are meant for provisioning, not for every
// request.
type MemoryStore struct {
	mu     sync.Mutex
	routes map[string]*storedRoute
}

// storedRoute is a Route and its reference count.
type storedRoute struct {
	route Route
	refs  int
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{routes: make(map[string]*storedRoute)}
}

// Route returns the Route for key, creating it on first use, and counts a
// reference to it.
func (m *MemoryStore) Route(key string) Route {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.routes[key]
	if !ok {
		s = &storedRoute{route: NewRoute()}
		m.routes[key] = s
	}
	s.refs++
	return s.route
}

// Release gives back one reference to key's Route, and drops the Route when
// it was the last. Releasing a key that holds no reference does nothing.
func (m *MemoryStore) Release(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.routes[key]; ok {
		if s.refs--; s.refs <= 0 {
			delete(m.routes, key)
		}
	}
}
