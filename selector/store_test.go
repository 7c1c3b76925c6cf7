package selector

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemoryStoreSamePointer(t *testing.T) {
	st := NewMemoryStore()
	a := st.Route("openai/gpt-4o")
	require.NotNil(t, a)
	assert.Same(t, a, st.Route("openai/gpt-4o"))
	assert.NotSame(t, a, st.Route("azure/gpt-4o"))
}

// A Route outlives the release of one of its references, as a reload's new
// config takes its references before the old config releases its own; a
// key released as often as it was taken gets a new Route.
func TestMemoryStoreCountsReferences(t *testing.T) {
	st := NewMemoryStore()
	key := "openai/openai/gpt-4o"
	first := st.Route(key) // the running config
	noExplore.ObserveFailure(first, Failure{}, t0)
	second := st.Route(key) // the reloaded config
	st.Release(key)         // the running config is cleaned up
	assert.Same(t, first, second)
	assert.Same(t, first, st.Route(key), "still referenced: the same Route")
	st.Release(key)
	st.Release(key)
	fresh := st.Route(key)
	assert.NotSame(t, first, fresh, "released as often as taken: a new Route")
	assert.Equal(t, Snapshot{}, fresh.Snapshot(t0))
	st.Release(key)
	st.Release(key) // more releases than references: nothing happens
	st.Release("never/taken")
}

func TestMemoryStoreConcurrent(t *testing.T) {
	st := NewMemoryStore()
	const n = 16
	got := make([]Route, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = st.Route("k") })
	}
	wg.Wait()
	for _, s := range got {
		assert.Same(t, got[0], s)
	}
}
