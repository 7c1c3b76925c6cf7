package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// BenchmarkInProcess sends the load benchmark's mix, one request at a time,
// to plain reverse_proxy and to llm_router running in this process, in front
// of the same fake vendor. It is the quick loop for profiling the router's
// per-request cost: unlike `go run ./bench` it needs no quiet machine and no
// wrk, and -cpuprofile/-memprofile see the router's code directly. ns/op and
// B/op include the client and the fake vendor (the same for every mode), so
// only the difference between the modes is the proxy's:
//
//	go test -run '^$' -bench InProcess -benchmem -cpu 1 ./bench/
//	go test -run '^$' -bench 'InProcess/router/mix' -cpu 1 -cpuprofile cpu.out ./bench/

// Besides the mix, each kind runs alone (rp/small, router/large+stream...),
// which separates the router's fixed cost from its cost per KiB of prompt.
//
// Caddy's log goes to a file in the benchmark's temporary directory at its
// default level (INFO), as it goes to stderr in production. Not to Caddy's
// "output discard": that makes every logger a no-op core, which hid a cost
// every request pays (reverse_proxy encodes each attempt's request for a
// DEBUG line it then drops; see deferProxyLogFields).
func BenchmarkInProcess(b *testing.B) {
	modes := []string{"rp", "rp-headers", "router", "router-noledger", "router-limits"}
	urls := inProcessSites(b, modes, "")

	m := newMix(32, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	kinds := map[string][]kind{"mix": m.kinds}
	for k := range numKinds {
		kinds[k.String()] = []kind{k}
	}
	for _, mode := range modes {
		url := urls[mode]
		for _, kindName := range []string{"mix", "small", "small+stream", "large", "large+stream"} {
			b.Run(mode+"/"+kindName, func(b *testing.B) {
				send := kinds[kindName]
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					send1(b, client, url, m, send[i%len(send)])
					i++
				}
			})
		}
	}
}

// inProcessSites loads, in this process, a Caddy config with a site per
// mode in front of one fake vendor, routerOptions added to every llm_router
// block, and returns each mode's chat completions URL. Caddy and the fake
// stop when the benchmark ends.
func inProcessSites(b *testing.B, modes []string, routerOptions string) map[string]string {
	fake, err := startFake("127.0.0.1:0", os.Getenv("LLM_ROUTER_BENCH_BARE_VENDOR") != "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fake.Close() })
	_, fakePortStr, _ := net.SplitHostPort(fake.addr())
	var fakePort int
	fmt.Sscan(fakePortStr, &fakePort)

	urls := make(map[string]string, len(modes))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n\tlog {\n\t\toutput file %s\n\t}\n}\n",
		filepath.Join(b.TempDir(), "caddy.log"))
	for _, mode := range modes {
		port := loopbackPort(b)
		urls[mode] = fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port)
		full := caddyfileFor(mode, port, fakePort, 256, "")
		full = strings.Replace(full, "\tllm_router {\n", "\tllm_router {\n"+routerOptions, 1)
		cfg.WriteString(full[strings.Index(full, "\nhttp://")+1:]) // the site block, without the global options
	}
	adapted, _, err := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}.Adapt([]byte(cfg.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := caddy.Load(adapted, true); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = caddy.Stop() })
	return urls
}

// send1 sends one request of kind k and reads the answer whole.
func send1(b *testing.B, client *http.Client, url string, m *mix, k kind) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(m.bodies[k]))
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: status %d, %v", k, resp.StatusCode, err)
	}
}

func loopbackPort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
