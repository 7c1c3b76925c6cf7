package fleettest

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caddy-llm/llmrouter/internal/fakevendor"
	"github.com/caddy-llm/llmrouter/internal/testservices"
)

// load keeps workers sending chat completions to an instance until it is
// stopped, or the instance stops answering, and notes when each request
// that succeeded (200 and a whole body) completed.
type load struct {
	stopOnce sync.Once
	stopped  chan struct{}
	wg       sync.WaitGroup

	mu        sync.Mutex
	successes []time.Time
	failures  int
	firstFail string // what the first failure was
}

func startLoad(t testing.TB, in *instance, model string, workers int) *load {
	l := &load{stopped: make(chan struct{})}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-l.stopped:
					return
				default:
				}
				resp, body, err := chat(t, client, in.url, model, fmt.Sprint("worker-", w))
				now := time.Now()
				l.mu.Lock()
				if err == nil && resp.StatusCode == http.StatusOK {
					l.successes = append(l.successes, now)
				} else {
					l.failures++
					if l.firstFail == "" {
						l.firstFail = fmt.Sprint(err)
						if resp != nil {
							l.firstFail = fmt.Sprintf("%s: %s", resp.Status, body)
						}
					}
				}
				l.mu.Unlock()
				if err != nil {
					select {
					case <-in.done: // the instance is gone: nothing more to send
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			}
		}()
	}
	return l
}

// stop ends the load and returns when every worker is done.
func (l *load) stop() {
	l.stopOnce.Do(func() { close(l.stopped) })
	l.wg.Wait()
}

// succeeded counts the successes that completed before t.
func (l *load) succeeded(before time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, at := range l.successes {
		if at.Before(before) {
			n++
		}
	}
	return n
}

// totals sums an instance's /llm_router/usage rows.
func totals(t testing.TB, in *instance) (requests, successes int64) {
	for _, r := range usage(t, in, "") {
		requests += r.Requests
		successes += r.Successes
	}
	return requests, successes
}

// sqliteBlock is an llm_router block with the default SQLite ledger.
func sqliteBlock(vendor *fakevendor.Vendor, flush string) string {
	return fmt.Sprintf(`		ledger_key {http.request.header.X-Client}
		ledger_flush_interval %s
		vendor fake openai_compatible {
			base_url %s
			model crash-model
		}`, flush, vendor.URL())
}

// A graceful stop (SIGTERM) under load writes every row: the ledger that
// the next instance opens holds a success for every request the clients
// saw succeed.
func TestCrash_SIGTERMLosesNoRow(t *testing.T) {
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "fake", TTFT: 2 * time.Millisecond})
	block := sqliteBlock(vendor, "1s")
	first := startInstance(t, "first", "", block)

	l := startLoad(t, first, "crash-model", 8)
	time.Sleep(1500 * time.Millisecond)
	first.stop()
	l.stop()
	require.NoError(t, first.waitErr, "SIGTERM is a clean exit")
	clientSuccesses := l.succeeded(time.Now())
	require.Greater(t, clientSuccesses, 50, "the load ran")

	second := startInstance(t, "second", first.dataDir, block)
	_, successes := totals(t, second)
	assert.EqualValues(t, clientSuccesses, successes, "rows lost or invented across a graceful stop")
}

// A kill -9 under load loses at most the rows of the last flush interval:
// every request that succeeded more than one interval (and the time a
// batch takes to commit) before the kill is in the ledger.
func TestCrash_Kill9LosesAtMostOneFlushInterval(t *testing.T) {
	const flush = 500 * time.Millisecond
	vendor := fakevendor.Start(t, fakevendor.Options{Name: "fake", TTFT: 2 * time.Millisecond})
	block := sqliteBlock(vendor, flush.String())
	first := startInstance(t, "first", "", block)

	l := startLoad(t, first, "crash-model", 8)
	time.Sleep(2 * time.Second)
	killedAt := time.Now()
	first.kill()
	l.stop()
	clientSuccesses := l.succeeded(killedAt)
	// A batch is taken every interval and committed within a few
	// milliseconds; allow a quarter interval for the commit and scheduling.
	mustHave := l.succeeded(killedAt.Add(-flush - flush/4))
	require.Greater(t, mustHave, 50, "the load ran")

	second := startInstance(t, "second", first.dataDir, block)
	_, successes := totals(t, second)
	assert.LessOrEqual(t, successes, int64(clientSuccesses), "the ledger holds successes no client saw")
	assert.GreaterOrEqual(t, successes, int64(mustHave),
		"kill -9 lost more than one flush interval: %d of %d successes kept, %d completed more than %s before the kill",
		successes, clientSuccesses, mustHave, flush)
	t.Logf("kill -9: %d of %d successes kept (%d lost; %d completed in the last flush interval)",
		successes, clientSuccesses, int64(clientSuccesses)-successes, clientSuccesses-mustHave)
}

// PostgreSQL goes away mid-load and comes back: the rows of the outage go
// to the spill file and are written once PostgreSQL is back, so the ledger
// ends with exactly one row per request, and no request failed meanwhile.
//
// The outage is a TCP proxy between Caddy and the test server that the
// test cuts and restores: to the ledger it looks like a server that stopped
// and started again, without stopping the server the other packages' tests
// share.
func TestCrash_SpillReplayedAfterPostgresOutage(t *testing.T) {
	dsn := createDatabase(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := testservices.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	viaProxy := u.String()

	vendor := fakevendor.Start(t, fakevendor.Options{Name: "fake", TTFT: 2 * time.Millisecond})
	block := fmt.Sprintf(`		ledger_key {http.request.header.X-Client}
		ledger postgres %q
		ledger_flush_interval 200ms
		vendor fake openai_compatible {
			base_url %s
			model spill-model
		}`, viaProxy, vendor.URL())
	in := startInstance(t, "A", "", block)

	l := startLoad(t, in, "spill-model", 4)
	time.Sleep(time.Second)
	proxy.Cut()
	time.Sleep(2 * time.Second)
	proxy.Restore()
	time.Sleep(1500 * time.Millisecond)
	l.stop()
	l.mu.Lock()
	clientSuccesses, clientFailures := len(l.successes), l.failures
	l.mu.Unlock()
	assert.Zero(t, clientFailures, "requests failed while the ledger's database was down; the first: %s", l.firstFail)
	require.Greater(t, clientSuccesses, 50, "the load ran")

	// The spill is replayed once the ledger sees the database back.
	deadline := time.Now().Add(20 * time.Second)
	var successes int64
	for {
		if _, successes = totals(t, in); successes == int64(clientSuccesses) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.EqualValues(t, clientSuccesses, successes, "rows lost across the outage")
	in.stop()
	assert.Equal(t, clientSuccesses, countRows(t, dsn, ""), "one row per request")
	assert.Contains(t, in.log(), "spill", "the outage was logged")
}
