package fakevendor

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// server is what every fake shares: its HTTP server, its options behind a
// lock, the requests it recorded, and the channel that Close closes to abort
// the sleeps and streams in flight. O is the fake's options, R what it
// records of a request. A fake embeds it, sets it up with init, and gets URL,
// Close, SetOptions, Requests, Count and Reset.
type server[O, R any] struct {
	srv *httptest.Server

	mu   sync.RWMutex
	opts O
	reqs []R

	closing   chan struct{} // closed by Close: aborts in-flight sleeps and streams
	closeOnce sync.Once

	lookups lookups // lookups.go: the API's model metadata calls

	cloneOptions  func(O) O // a copy sharing nothing with the caller's; nil: as it is
	cloneRecorded func(R) R // a copy sharing nothing with the fake's
}

// init sets the options (a copy) and makes the closing channel. The fake
// sets lookups, then starts the server with serve or serveOn.
func (s *server[O, R]) init(o O, cloneOptions func(O) O, cloneRecorded func(R) R) {
	s.cloneOptions, s.cloneRecorded = cloneOptions, cloneRecorded
	s.opts = s.copyOptions(o)
	s.closing = make(chan struct{})
}

// serve starts the server on a loopback port of the system's choosing,
// handling what the lookups do not with h.
func (s *server[O, R]) serve(h http.HandlerFunc) {
	s.srv = httptest.NewServer(s.lookups.wrap(h))
}

// serveOn is serve on addr (such as 127.0.0.1:9101), for the demo, whose
// Caddyfile names fixed ports.
func (s *server[O, R]) serveOn(addr string, h http.HandlerFunc) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.srv = httptest.NewUnstartedServer(s.lookups.wrap(h))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	return nil
}

func (s *server[O, R]) copyOptions(o O) O {
	if s.cloneOptions == nil {
		return o
	}
	return s.cloneOptions(o)
}

// URL returns the base URL, such as http://127.0.0.1:41234: a vendor's
// base_url.
func (s *server[O, R]) URL() string { return s.srv.URL }

// Close aborts in-flight requests (sleeps and streams stop at once and their
// connections are dropped, so clients see a transport error or a truncated
// stream) and shuts the server down. It is safe to call more than once.
func (s *server[O, R]) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// SetOptions changes the behaviour at runtime (concurrency-safe). Requests
// already being served keep the options they started with.
func (s *server[O, R]) SetOptions(o O) {
	o = s.copyOptions(o)
	s.mu.Lock()
	s.opts = o
	s.mu.Unlock()
}

// Requests returns copies of every request received, in order.
func (s *server[O, R]) Requests() []R {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]R, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = s.cloneRecorded(r)
	}
	return out
}

// Count returns the number of requests received.
func (s *server[O, R]) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.reqs)
}

// Reset forgets the recorded requests.
func (s *server[O, R]) Reset() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// record appends rec to the recorded requests and returns the options the
// request is to be served with. The options are shared, not copied: SetOptions
// stores a copy and nothing mutates it.
func (s *server[O, R]) record(rec R) O {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, rec)
	return s.opts
}

// requestContext returns a context cancelled when the client goes away or the
// fake is closed.
func (s *server[O, R]) requestContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// recorded is what a fake keeps of r, whose body it has read.
func recorded(r *http.Request, body []byte) Recorded {
	return Recorded{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Host:     r.Host,
		Header:   r.Header.Clone(),
		Body:     bytes.Clone(body),
	}
}
