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

func TestSharedStore(t *testing.T) {
	require.NotNil(t, Shared)
	key := "selector-test/shared"
	assert.Same(t, Shared.Route(key), Shared.Route(key))
}

func TestMemoryStoreConcurrent(t *testing.T) {
	st := NewMemoryStore()
	const n = 16
	got := make([]*RouteStats, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = st.Route("k") })
	}
	wg.Wait()
	for _, s := range got {
		assert.Same(t, got[0], s)
	}
}
