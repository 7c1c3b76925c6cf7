package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// TestClientForWrites checks how the Go generator's client writes a 32 KiB
// request: in two writes by default (the first 4 KiB with the headers, then
// the rest), in one with -cases-loadgen go-onewrite, as wrk does. The cases'
// notes and BENCHMARKS.md rely on both.
func TestClientForWrites(t *testing.T) {
	received := make(chan int, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received <- int(n)
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()

	for _, c := range []struct {
		name     string
		oneWrite bool
		writes   int64
	}{{"default", false, 2}, {"one write", true, 1}} {
		t.Run(c.name, func(t *testing.T) {
			m := newMix(32, []kind{largeJSON})
			m.oneWrite = c.oneWrite
			client := clientFor(m, 1)
			defer client.CloseIdleConnections()
			var writes atomic.Int64
			testservices.CountWrites(client.Transport.(*http.Transport), &writes)

			s := do(context.Background(), client, srv.URL, m, largeJSON, time.Now())
			require.Empty(t, s.err)
			assert.Equal(t, len(m.bodies[largeJSON]), <-received, "the whole body arrived")
			assert.Equal(t, c.writes, writes.Load(), "writes for one %d-byte request", len(m.bodies[largeJSON]))
		})
	}
}
