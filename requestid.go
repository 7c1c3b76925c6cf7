package llmrouter

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// requestIDs names the requests in the ledger: this process's random
// prefix, then a counter. The names are unique across the instances of a
// fleet and across restarts, which is what makes a replayed ledger row
// land once, and they cost no syscall per request (a UUID would read the
// system's randomness every time).
var requestIDs struct {
	prefix string
	next   atomic.Uint64
}

func init() {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	requestIDs.prefix = hex.EncodeToString(b[:]) + "-"
}

// newRequestID returns the next request id, such as "9f86d081884c7d65-1a".
func newRequestID() string {
	var buf [40]byte
	id := append(buf[:0], requestIDs.prefix...)
	return string(strconv.AppendUint(id, requestIDs.next.Add(1), 36))
}
