package testservices

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
)

// CountWrites makes tr count, in writes, the write calls made on every
// connection it dials from now on: how many system calls (and, on loopback,
// TCP segments) a request leaves in. tr's own DialContext is kept, or a plain
// net.Dialer when it has none.
func CountWrites(tr *http.Transport, writes *atomic.Int64) {
	dial := tr.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCountingConn{Conn: conn, writes: writes}, nil
	}
}

type writeCountingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCountingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
