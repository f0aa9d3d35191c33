// Package e2e runs real vaultd and vaultctl binaries on 127.0.0.1 and
// drives them with third-party Vault clients. Test-only code.
package e2e

import (
	"bytes"
	"context"
	"fmt"
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

	vault "github.com/openbao/openbao/api/v2"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "secretum-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	for _, name := range []string{"vaultd", "vaultctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "../../cmd/"+name)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", name, err)
			os.Exit(1)
		}
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
	t       testing.TB
	dir     string
	addr    string
	config  string
	cmd     *exec.Cmd
	logMu   sync.Mutex
	log     bytes.Buffer
	exited  chan struct{}
	running bool
}

type lockedWriter struct{ s *server }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.logMu.Lock()
	defer w.s.logMu.Unlock()
	return w.s.log.Write(p)
}

// newServer writes an HCL config for a fresh node and starts it.
func newServer(t testing.TB) *server {
	t.Helper()
	return newServerWith(t, "")
}

// newServerWith is newServer with extra top-level HCL appended to the
// configuration.
func newServerWith(t testing.TB, extra string) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{t: t, dir: dir, addr: freeAddr(t)}
	cluster := freeAddr(t)
	s.config = filepath.Join(dir, "node.hcl")
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
log_level     = "debug"
log_format    = "json"
`, filepath.Join(dir, "data"), s.addr, cluster, s.addr, cluster) + extra
	if err := os.WriteFile(s.config, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("vaultd log:\n%s", s.logs())
		}
	})
	return s
}

func (s *server) logs() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// start launches vaultd and waits until its API answers.
func (s *server) start() {
	s.t.Helper()
	s.cmd = exec.Command(filepath.Join(binDir, "vaultd"), "-config", s.config)
	s.cmd.Stdout, s.cmd.Stderr = lockedWriter{s}, lockedWriter{s}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	s.running = true
	go func() { s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url() + "/v1/sys/seal-status")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-s.exited:
			s.t.Fatalf("vaultd exited early:\n%s", s.logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.t.Fatalf("vaultd did not answer within 30s:\n%s", s.logs())
}

// stop sends sig and waits for the process to exit.
func (s *server) stop(sig syscall.Signal) {
	if !s.running {
		return
	}
	s.running = false
	s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("vaultd did not stop on %v", sig)
	}
}

func (s *server) url() string { return "http://" + s.addr }

// client returns an OpenBao API client (a third-party Vault client library).
func (s *server) client(token string) *vault.Client {
	s.t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = s.url()
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// initUnseal runs init with shares/threshold and unseals with threshold keys.
func (s *server) initUnseal(shares, threshold int) *vault.InitResponse {
	s.t.Helper()
	c := s.client("")
	init, err := c.Sys().Init(&vault.InitRequest{SecretShares: shares, SecretThreshold: threshold})
	if err != nil {
		s.t.Fatalf("init: %v", err)
	}
	s.unseal(init.Keys[:threshold])
	return init
}

func (s *server) unseal(keys []string) {
	s.t.Helper()
	c := s.client("")
	var st *vault.SealStatusResponse
	var err error
	for _, k := range keys {
		if st, err = c.Sys().Unseal(k); err != nil {
			s.t.Fatalf("unseal: %v", err)
		}
	}
	if st.Sealed {
		s.t.Fatalf("still sealed after %d keys: %+v", len(keys), st)
	}
}

// vaultctl runs the vaultctl binary against this server.
func (s *server) vaultctl(token string, stdin string, args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "vaultctl"), args...)
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+s.url(), "VAULT_TOKEN="+token)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("vaultctl %v: %v", args, err)
	}
	return o.String(), e.String(), 0
}

// filesContaining returns the files under dir whose bytes contain needle.
func filesContaining(t testing.TB, dir string, needles ...[]byte) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				hits = append(hits, fmt.Sprintf("%s contains %q", path, n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}
