//go:build race

package llmrouter

// raceEnabled: the race detector is on. Its sync.Pool drops a share of the
// values put back, on purpose, so allocation counts mean nothing then.
const raceEnabled = true
