package llmrouter

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ring keeps the last maxDecisions, newest first.
func TestDecisionRingKeepsTheLatest(t *testing.T) {
	var r decisionRing
	assert.Empty(t, r.list())
	for i := range maxDecisions + 7 {
		r.add(decision{RequestID: strconv.Itoa(i)})
	}
	got := r.list()
	require.Len(t, got, maxDecisions)
	assert.Equal(t, strconv.Itoa(maxDecisions+6), got[0].RequestID)
	assert.Equal(t, "7", got[maxDecisions-1].RequestID)
}

func TestShortenCutsAtACharacter(t *testing.T) {
	assert.Equal(t, "short", shorten("short", 10))
	long := strings.Repeat("é", 200) // 2 bytes each
	got := shorten(long, 301)
	assert.True(t, utf8.ValidString(got))
	assert.Equal(t, strings.Repeat("é", 150)+"…", got)
}
