package llmrouter

import (
	"context"
	"io"
	"net"
	"sync"
)

// copyBufferSize is the size of the pooled buffers vendorConn copies request
// bodies through: what net's generic ReadFrom allocates for each copy.
const copyBufferSize = 32 << 10

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// vendorConn is a plain connection to a vendor whose ReadFrom copies through
// a pooled buffer. Go's transport writes a request body larger than what is
// left of its write buffer with io.Copy onto the connection (through
// bufio.Writer.ReadFrom), and the body always comes wrapped in an
// io.LimitedReader, which hides any WriteTo: *net.TCPConn's ReadFrom then
// falls back to io.Copy with a fresh 32 KiB buffer, allocated, zeroed and
// collected for every such request. Reads, and everything else, are the
// connection's own.
type vendorConn struct{ net.Conn }

// ReadFrom copies r to the connection through a pooled buffer.
func (c vendorConn) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufferPool.Get().(*[]byte)
	defer copyBufferPool.Put(bp)
	return io.CopyBuffer(writerOnly{c.Conn}, r, *bp)
}

// writerOnly hides the connection's own ReadFrom from io.CopyBuffer, which
// would otherwise call it and allocate after all.
type writerOnly struct{ io.Writer }

// pooledCopyDialer wraps dial so that the connections it returns copy
// request bodies through pooled buffers (vendorConn). Errors are returned
// unchanged: reverse_proxy recognises Caddy's DialError to retry.
func pooledCopyDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return vendorConn{c}, nil
	}
}

// Interface guards
var _ io.ReaderFrom = vendorConn{}
