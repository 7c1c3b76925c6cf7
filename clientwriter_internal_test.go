package llmrouter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/selector"
)

// flushCounter is a client's response writer that counts flushes.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes    int
	fullDuplex bool
}

func (w *flushCounter) Flush()                  { w.flushes++ }
func (w *flushCounter) EnableFullDuplex() error { w.fullDuplex = true; return nil }

func TestClientWriterHoldsTheLastFlush(t *testing.T) {
	inner := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
	cw := &clientWriter{ResponseWriter: inner}
	rc := http.NewResponseController(cw) // as reverse_proxy flushes

	require.NoError(t, rc.Flush())
	cw.Flush()
	assert.Equal(t, 2, inner.flushes, "before the hold, flushes pass")

	cw.holdLastFlush()
	_, _ = cw.Write([]byte("data: [DONE]\n\n"))
	require.NoError(t, rc.Flush())
	cw.Flush()
	assert.Equal(t, 2, inner.flushes, "the last bytes wait for the response's end")
	assert.Equal(t, "data: [DONE]\n\n", inner.Body.String(), "writes pass")

	cw.release()
	assert.Equal(t, 3, inner.flushes, "release makes the flush it held back, once")
	require.NoError(t, rc.Flush())
	assert.Equal(t, 4, inner.flushes, "after release, flushes pass")
	cw.release()
	assert.Equal(t, 4, inner.flushes, "nothing owed, nothing flushed")

	require.NoError(t, rc.EnableFullDuplex())
	assert.True(t, inner.fullDuplex, "the writer's other abilities are reached through Unwrap")
}

// lastWithEOF is a vendor body that returns its last event with io.EOF, as
// net/http's transport does when the chunked terminator came with it.
type lastWithEOF struct{ eventReader }

func (r *lastWithEOF) Read(p []byte) (int, error) {
	n, err := r.eventReader.Read(p)
	if err == nil && r.i == len(r.events) {
		err = io.EOF
	}
	return n, err
}

// committedBody commits a vendor answer as the transport does and returns
// the body the proxy reads, with the request's state.
func committedBody(t *testing.T, contentType string, body io.ReadCloser, stream bool) (*meteredBody, *requestState) {
	t.Helper()
	h := benchRouter(t)
	rt := h.table.routes[0]
	st := &requestState{plan: plan{stream: stream, promptTokens: 20, strategy: selector.Perf}}
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {contentType}}, Body: body, ContentLength: -1}
	ctx := context.Background()
	_, cancel := context.WithCancel(ctx)
	mb := &meteredBody{body: body, tr: benchTranslator(t, rt, st), sel: h.selector, st: st, route: rt,
		start: time.Now(), timer: &attemptTimer{}, cancel: cancel, clientCx: ctx}
	var o attemptOutcome
	_, err := (&attemptTransport{router: h}).commit(&o, rt, mb, resp)
	require.NoError(t, err)
	st.record(rt, &o)
	t.Cleanup(func() { mb.Close() })
	return mb, st
}

// proxyRead is one read of reverse_proxy's copy loop.
type proxyRead struct {
	data string
	err  error
	held bool // the client writer held flushes after this read
}

// readAsProxy reads body as reverse_proxy's copy loop does, until an error.
func readAsProxy(t *testing.T, body io.Reader, st *requestState) []proxyRead {
	t.Helper()
	buf := make([]byte, 32<<10)
	var reads []proxyRead
	for len(reads) < 100 {
		n, err := body.Read(buf)
		reads = append(reads, proxyRead{string(buf[:n]), err, st.client.hold.Load()})
		if err != nil {
			return reads
		}
	}
	t.Fatal("the body never ended")
	return nil
}

func TestMeteredBodyEndsWithTheLastBytes(t *testing.T) {
	events := benchStream(3)
	last := string(events[len(events)-1])

	t.Run("vendor's end with its last event", func(t *testing.T) {
		mb, st := committedBody(t, "text/event-stream", &lastWithEOF{eventReader{events: events}}, true)
		reads := readAsProxy(t, mb, st)
		end := reads[len(reads)-1]
		assert.Equal(t, last, end.data, "the last event comes with the end")
		assert.Equal(t, io.EOF, end.err)
		assert.True(t, end.held)
		for _, r := range reads[:len(reads)-1] {
			assert.NoError(t, r.err)
			assert.False(t, r.held, "events before the last are flushed as they come: %q", r.data)
		}
		assert.True(t, mb.completed())
	})

	t.Run("vendor's end after its last event", func(t *testing.T) {
		mb, st := committedBody(t, "text/event-stream", &eventReader{events: events}, true)
		reads := readAsProxy(t, mb, st)
		assert.Equal(t, last, reads[len(reads)-2].data)
		assert.NoError(t, reads[len(reads)-2].err, "[DONE] is flushed: the vendor had not ended yet")
		assert.Equal(t, proxyRead{"", io.EOF, false}, reads[len(reads)-1], "nothing left to hold")
		assert.True(t, mb.completed())
	})

	t.Run("vendor breaks off", func(t *testing.T) {
		broken := &lastWithEOF{eventReader{events: events[:3]}} // role chunk, two tokens
		mb, st := committedBody(t, "text/event-stream", broken, true)
		reads := readAsProxy(t, mb, st)
		end := reads[len(reads)-1]
		assert.Contains(t, end.data, "stopped the stream before it was complete",
			"the error event is the last bytes, with the end")
		assert.Equal(t, io.EOF, end.err)
		assert.True(t, end.held)
		assert.False(t, mb.completed())
	})

	t.Run("JSON answer", func(t *testing.T) {
		answer := `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o",` +
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],` +
			`"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21}}`
		mb, st := committedBody(t, "application/json", io.NopCloser(strings.NewReader(answer)), false)
		reads := readAsProxy(t, mb, st)
		require.Len(t, reads, 1, "the whole answer, with the end")
		assert.Equal(t, proxyRead{answer, io.EOF, true}, reads[0])
	})
}

func TestSettleMayWait(t *testing.T) {
	limited := &limitState{}
	for _, c := range []struct {
		name                      string
		ledgerWaits, limiterWaits bool
		limit                     *limitState
		hedge                     *hedgeRun
		want                      bool
	}{
		{name: "in memory"},
		{name: "a limiter in Redis, a client without limits", limiterWaits: true},
		{name: "a limiter in Redis", limiterWaits: true, limit: limited, want: true},
		{name: "an in-memory limiter", limit: limited},
		{name: "a ledger that commits each entry", ledgerWaits: true, want: true},
		{name: "a hedge's legs", hedge: &hedgeRun{}, want: true},
	} {
		h := &LLMRouter{ledgerWaits: c.ledgerWaits, limiterWaits: c.limiterWaits}
		st := &requestState{limit: c.limit, attempts: attempts{hedge: c.hedge}}
		assert.Equal(t, c.want, h.settleMayWait(st), c.name)
	}
}
