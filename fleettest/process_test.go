package fleettest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-llm/llmrouter"
)

// childEnv makes the test binary run as caddy.
const childEnv = "LLM_ROUTER_FLEETTEST_CADDY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		caddycmd.Main() // os.Args: <test binary> run --config ... --adapter caddyfile
		return
	}
	os.Exit(m.Run())
}

// instance is one Caddy process under test.
type instance struct {
	t       testing.TB
	name    string
	url     string // the llm_router site, http://127.0.0.1:port
	admin   string // the admin endpoint, http://127.0.0.1:port
	dataDir string // XDG_DATA_HOME: the default ledger lives under it
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startInstance runs `caddy run` on a config whose one site serves
// routerBlock (the body of an llm_router directive) on a free port, with
// its own admin endpoint and data directory (dataDir, or a new one), and
// waits until it answers. The process is killed when the test ends, if it
// still runs.
func startInstance(t testing.TB, name, dataDir, routerBlock string) *instance {
	t.Helper()
	dir := t.TempDir()
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	port, adminPort := freePort(t), freePort(t)
	caddyfile := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	skip_install_trust
	persist_config off
	log {
		level INFO
	}
}

:%d {
	llm_router {
%s
	}
}
`, adminPort, port, routerBlock)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	in := &instance{
		t: t, name: name, dataDir: dataDir,
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		admin:   fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		logPath: filepath.Join(dir, "caddy.log"),
		done:    make(chan struct{}),
	}
	logf, err := os.Create(in.logPath)
	if err != nil {
		t.Fatal(err)
	}
	in.cmd = exec.Command(os.Args[0], "run", "--config", path, "--adapter", "caddyfile")
	in.cmd.Env = append(os.Environ(), childEnv+"=1", "HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+dataDir)
	in.cmd.Stdout, in.cmd.Stderr = logf, logf
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		in.waitErr = in.cmd.Wait()
		logf.Close()
		close(in.done)
	}()
	t.Cleanup(func() {
		in.signal(syscall.SIGKILL)
		<-in.done
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, in.log())
		}
	})
	if err := in.waitReady(60 * time.Second); err != nil {
		t.Fatalf("%s did not come up: %v\n%s", name, err, in.log())
	}
	return in
}

// waitReady polls until the site answers: the admin endpoint starts
// before the config's servers do.
func (in *instance) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-in.done:
			return fmt.Errorf("exited: %v", in.waitErr)
		default:
		}
		if resp, err := c.Get(in.url + "/v1/models"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s after %s", in.admin, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (in *instance) signal(sig syscall.Signal) {
	select {
	case <-in.done:
	default:
		_ = in.cmd.Process.Signal(sig)
	}
}

// stop sends SIGTERM and waits for the process to exit, which Caddy does
// after a graceful stop: in-flight requests finish and every module is
// cleaned up.
func (in *instance) stop() {
	in.t.Helper()
	in.signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		in.t.Fatalf("%s did not stop within 30s of SIGTERM\n%s", in.name, in.log())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (in *instance) kill() {
	in.signal(syscall.SIGKILL)
	<-in.done
}

func (in *instance) log() string {
	b, _ := os.ReadFile(in.logPath)
	return string(b)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// chat sends one non-streaming chat completion to url and returns the
// response's status, X-LLM-* headers and body.
func chat(t testing.TB, client *http.Client, url, model, key string) (*http.Response, []byte, error) {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello fleet"}]}`, model)
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Client", key) // the ledger key of these tests' configs
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, resp.Body)
	return resp, buf.Bytes(), err
}
