package testservices

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// ReloadRetry is the transport of the integration tests' HTTP clients. It
// sends a request once more when its connection was reset or closed
// unanswered within reloadWindow of the last config load (Loaded). After a load,
// the old config's server shares the listener with the new one (Caddy's
// fakeCloseListener), and its accept loop can take one last connection as
// it stops; with grace_period 1ns it then closes that connection at once,
// and the request on it fails although the new config is up (seen once in
// CI: a reset 0.02 s into a test). Any other failure, and any failure later
// than reloadWindow, reaches the test as it is.
type ReloadRetry struct {
	Next     http.RoundTripper // nil: http.DefaultTransport
	lastLoad atomic.Int64      // Unix nanoseconds
}

// reloadWindow is how long after a load ReloadRetry retries: a load's old
// server is gone within milliseconds, and a test's first request follows at
// once.
const reloadWindow = 2 * time.Second

// Loaded notes that a config was just loaded.
func (rt *ReloadRetry) Loaded() { rt.lastLoad.Store(time.Now().UnixNano()) }

// LoadedAt sets when the last config load was (for tests of ReloadRetry).
func (rt *ReloadRetry) LoadedAt(t time.Time) { rt.lastLoad.Store(t.UnixNano()) }

func (rt *ReloadRetry) next() http.RoundTripper {
	if rt.Next != nil {
		return rt.Next
	}
	return http.DefaultTransport
}

func (rt *ReloadRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next().RoundTrip(req)
	if err == nil || !ConnectionLost(err) || time.Since(time.Unix(0, rt.lastLoad.Load())) > reloadWindow {
		return resp, err
	}
	retry := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, err // the body is gone: nothing to send again
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return resp, err
		}
		retry.Body = body
	}
	return rt.next().RoundTrip(retry)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (rt *ReloadRetry) CloseIdleConnections() {
	if c, ok := rt.next().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// ConnectionLost reports whether err says the server reset or closed the
// connection before it answered.
func ConnectionLost(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
