package testservices

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on loopback in front of a server (the test
// PostgreSQL or Redis), which a test cuts, hangs and restores to simulate
// an outage of that server.
//
// Outages in tests are proxies the test cuts, never a server it stops: the
// servers are shared by the tests of every package, which run in parallel,
// so stopping one would fail tests that have nothing to do with the outage.
// To its clients a cut proxy looks like a server that went down, and a
// restored one like the server back at the same address.
//
// Its methods are meant to be called from the test's goroutine, one at a
// time.
type Proxy struct {
	t      testing.TB
	addr   string // where it listens, the same across cuts
	target string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	hung  bool         // ln answers nothing
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup // the accept loop and the pipes
}

// proxyTimeout bounds the proxy's dials to its target and its waits for
// its address to be free again.
const proxyTimeout = 5 * time.Second

// NewProxy returns a proxy to target (host:port) listening at once on a
// free loopback port. It is cut when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listen: %v", err)
	}
	p := &Proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln, false)
	t.Cleanup(p.Cut)
	return p
}

// Addr returns the address the proxy listens on (host:port), the same for
// its whole life: clients configured with it reconnect after Restore.
func (p *Proxy) Addr() string { return p.addr }

// Cut makes the proxy a server that went down: it closes the listener, so
// new connections are refused, and every connection through it, so its
// clients see them reset. It returns once every goroutine of the proxy has
// ended (tests that check for leaked goroutines rely on it). Cutting a cut
// proxy does nothing.
func (p *Proxy) Cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.hung = false
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// Restore makes the proxy the server back after Cut or Hang: it listens
// again on the same address and forwards new connections to the target.
// After Hang, it first closes the connections that hung. On a proxy that
// forwards already, it does nothing. It fails the test when the address
// cannot be listened on again within a few seconds.
func (p *Proxy) Restore() {
	p.t.Helper()
	p.mu.Lock()
	forwarding := p.ln != nil && !p.hung
	p.mu.Unlock()
	if forwarding {
		return
	}
	p.Cut()
	p.listen(false)
}

// Hang makes the proxy a server that hangs, until Restore or Cut: it cuts
// every connection, then accepts new ones and never answers them. Unlike
// after Cut, a client's dial succeeds and only its requests time out; the
// connections it had are gone, so that it cannot carry on over them.
func (p *Proxy) Hang() {
	p.t.Helper()
	p.Cut()
	p.listen(true)
}

// listen listens on the proxy's address again, waiting a little for it to
// be free.
func (p *Proxy) listen(hung bool) {
	p.t.Helper()
	deadline := time.Now().Add(proxyTimeout)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.serve(ln, hung)
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serve accepts connections on ln until it is closed: hung, it keeps them
// open and unanswered; otherwise it pipes each to a new connection to the
// target.
func (p *Proxy) serve(ln net.Listener, hung bool) {
	p.mu.Lock()
	p.ln, p.hung = ln, hung
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var up net.Conn
			if !hung {
				if up, err = net.DialTimeout("tcp", p.target, proxyTimeout); err != nil {
					c.Close()
					continue
				}
			}
			p.mu.Lock()
			if p.ln != ln { // cut meanwhile
				p.mu.Unlock()
				c.Close()
				if up != nil {
					up.Close()
				}
				return
			}
			p.conns[c] = struct{}{}
			if up != nil {
				p.conns[up] = struct{}{}
				p.wg.Add(2)
			}
			p.mu.Unlock()
			if up != nil {
				go p.pipe(c, up)
				go p.pipe(up, c)
			}
		}
	}()
}

// pipe copies src to dst until either ends, then closes both.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
