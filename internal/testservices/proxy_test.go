package testservices

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer listens on loopback and echoes every line back, until the
// test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends one line on c and returns what comes back within a
// second.
func roundTrip(c net.Conn, line string) (string, error) {
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// passes checks that a new connection through the proxy echoes, and
// returns it.
func passes(t *testing.T, p *Proxy, line string) net.Conn {
	t.Helper()
	c := dial(t, p.Addr())
	got, err := roundTrip(c, line)
	if err != nil || got != line {
		t.Fatalf("through the proxy: got %q, %v; want %q", got, err, line)
	}
	return c
}

// isClosed checks that c, open before, has been closed by the proxy.
func isClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	if got, err := roundTrip(c, "after"); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s: a connection open before still works or hangs: got %q, %v", what, got, err)
	}
}

func TestProxy(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	addr := p.Addr()
	before := passes(t, p, "hello")

	p.Cut()
	isClosed(t, before, "after Cut")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("after Cut: a new connection was accepted")
	}
	p.Cut() // idempotent

	p.Restore()
	if p.Addr() != addr {
		t.Errorf("the address changed across Restore: %s, then %s", addr, p.Addr())
	}
	before = passes(t, p, "back")
	p.Restore() // forwarding already: nothing changes
	if got, err := roundTrip(before, "still"); err != nil || got != "still" {
		t.Errorf("Restore of a forwarding proxy broke a connection: %q, %v", got, err)
	}

	p.Hang()
	isClosed(t, before, "after Hang")
	hung := dial(t, addr) // accepted...
	if err := hung.SetDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(hung, "anyone?\n"); err != nil {
		t.Fatalf("after Hang: write: %v", err)
	}
	if n, err := hung.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after Hang: want no answer until the deadline, got %d bytes, %v", n, err)
	}

	p.Restore()
	isClosed(t, hung, "after Restore of a hung proxy")
	passes(t, p, "again")
}
