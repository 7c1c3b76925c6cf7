package llmrouter

import (
	"net/http"
	"sync/atomic"
)

// clientWriter is the client's response writer as the embedded proxy sees
// it. It can hold back the flush reverse_proxy makes after an answer's last
// bytes, which meteredBody.Read hands out together with io.EOF once the
// vendor's body has ended. Those bytes then leave with the end of the
// response, which net/http writes when the handler returns (a chunked
// answer's terminator): one write to the socket, and one wake-up of the
// client, instead of a write and a wake-up for the bytes and another for the
// end. The client gets the last event a few microseconds later and the whole
// answer sooner (BENCHMARKS.md, "The last event leaves with the end").
//
// The hold lasts only while the router works in memory: settle releases it
// before anything that may wait (settleMayWait).
type clientWriter struct {
	http.ResponseWriter
	// hold and owed are atomic: reverse_proxy's first flush of a stream
	// (of the headers) comes from a timer's goroutine.
	hold atomic.Bool // the answer's last bytes are out
	owed atomic.Bool // a flush was held back
}

// holdLastFlush holds back flushes from now on: what is written next is
// the answer's end.
func (w *clientWriter) holdLastFlush() { w.hold.Store(true) }

// FlushError flushes, unless the end of the response is about to.
func (w *clientWriter) FlushError() error {
	if w.hold.Load() {
		w.owed.Store(true)
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for callers that look for an http.Flusher.
func (w *clientWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the writer's other abilities
// (deadlines, full duplex, hijacking).
func (w *clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// release ends the hold and makes the flush it held back, for a request
// about to do something that may wait.
func (w *clientWriter) release() {
	w.hold.Store(false)
	if w.owed.Swap(false) {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Interface guards
var (
	_ http.ResponseWriter = (*clientWriter)(nil)
	_ http.Flusher        = (*clientWriter)(nil)
)
