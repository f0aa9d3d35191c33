// Package ui tests the web UI end to end: a real vaultd binary on
// 127.0.0.1 and Debian's chromium, headless, driven with chromedp.
// Test-only code.
package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "secretum-ui-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "vaultd"), "../../cmd/vaultd")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build vaultd: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a free 127.0.0.1 TCP address.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is one vaultd process with its own data directory.
type server struct {
	t      testing.TB
	addr   string
	cmd    *exec.Cmd
	logMu  sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
}

type lockedWriter struct{ s *server }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.logMu.Lock()
	defer w.s.logMu.Unlock()
	return w.s.log.Write(p)
}

func (s *server) logs() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// newServer starts a fresh, uninitialised single raft node on loopback.
func newServer(t testing.TB) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{t: t, addr: freeAddr(t)}
	cluster := freeAddr(t)
	config := filepath.Join(dir, "node.hcl")
	hcl := fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = "node1"
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = true
}
api_addr      = "http://%s"
cluster_addr  = "https://%s"
disable_mlock = true
log_level     = "info"
log_format    = "json"
ui            = true
`, filepath.Join(dir, "data"), s.addr, cluster, s.addr, cluster)
	if err := os.WriteFile(config, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(filepath.Join(binDir, "vaultd"), "-config", config)
	s.cmd.Stdout, s.cmd.Stderr = lockedWriter{s}, lockedWriter{s}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			t.Errorf("vaultd did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("vaultd log:\n%s", s.logs())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url() + "/v1/sys/seal-status")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("vaultd exited early:\n%s", s.logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("vaultd did not answer within 30s:\n%s", s.logs())
	return nil
}

func (s *server) url() string { return "http://" + s.addr }

// api calls the HTTP API directly (setup the UI has no screen for) and
// fails the test unless the status is 2xx.
func (s *server) api(method, path, token string, body any) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url()+"/v1/"+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return out
}

// chromium is the browser binary: $CHROMIUM, else Debian's. A missing
// browser fails the test: it is a dependency of CI, not an option.
func chromium(t testing.TB) string {
	t.Helper()
	candidates := []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatalf("no chromium binary (tried $CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser): install Debian's chromium")
	return ""
}

// artifactDir is where screenshots go: $SECRETUM_UI_ARTIFACTS (kept), or a
// temporary directory of the test.
func artifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SECRETUM_UI_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// status is the HTTP status of a call to the API.
func (s *server) status(method, path, token string) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url()+"/v1/"+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
