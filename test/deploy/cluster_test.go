package deploy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
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

// The minimum of test/cluster's harness this package needs (that one is a
// _test package and cannot be imported): vaultd built from cmd/vaultd, N
// nodes on 127.0.0.1 with TLS listeners from a test CA, retry_join to
// node0, init and unseal through the OpenBao client.

var (
	vaultdOnce sync.Once
	vaultdPath string
	vaultdErr  error
)

// vaultdBinary builds cmd/vaultd once per test binary.
func vaultdBinary(t testing.TB) string {
	t.Helper()
	vaultdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "secretum-deploy-bin-")
		if err != nil {
			vaultdErr = err
			return
		}
		vaultdPath = filepath.Join(dir, "vaultd")
		if out, err := runErr(repoRoot, "go", "build", "-o", vaultdPath, "./cmd/vaultd"); err != nil {
			vaultdErr = fmt.Errorf("build vaultd: %v\n%s", err, out)
		}
	})
	if vaultdErr != nil {
		t.Fatal(vaultdErr)
	}
	return vaultdPath
}

// testCA is a CA and one listener certificate for 127.0.0.1 signed by it.
type testCA struct {
	CAFile, CertFile, KeyFile string
	NotAfter                  time.Time
	pool                      *x509.CertPool
}

// newTestCA writes ca.pem, tls.crt and tls.key into dir; the listener
// certificate expires after certLife.
func newTestCA(t testing.TB, dir string, certLife time.Duration) *testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "secretum-deploy-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLife),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		NotAfter: leaf.NotAfter, pool: x509.NewCertPool(),
	}
	ca.pool.AddCert(caCert)
	for path, block := range map[string]*pem.Block{
		ca.CAFile: {Type: "CERTIFICATE", Bytes: caDER}, ca.CertFile: {Type: "CERTIFICATE", Bytes: der},
		ca.KeyFile: {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

// httpClient trusts the test CA.
func (ca *testCA) httpClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12},
	}}
}

// vaultNode is one vaultd process.
type vaultNode struct {
	ID, APIAddr, ClusterAddr, dir string
	cmd                           *exec.Cmd
	log                           bytes.Buffer
	exited                        chan struct{}
}

// URL is the node's API base URL.
func (n *vaultNode) URL() string { return "https://" + n.APIAddr }

// testCluster is N vaultd processes sharing one listener certificate.
type testCluster struct {
	t     testing.TB
	ca    *testCA
	Nodes []*vaultNode
	init  *vault.InitResponse
}

// freePort returns a currently free 127.0.0.1 address.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCluster starts n nodes; nodes 1.. carry retry_join to node0. The
// processes are stopped by t.Cleanup, their logs printed if t failed.
func startCluster(t testing.TB, n int, ca *testCA) *testCluster {
	t.Helper()
	bin := vaultdBinary(t)
	c := &testCluster{t: t, ca: ca}
	for i := range n {
		c.Nodes = append(c.Nodes, &vaultNode{
			ID: fmt.Sprintf("node%d", i), APIAddr: freePort(t), ClusterAddr: freePort(t), dir: t.TempDir(),
			exited: make(chan struct{}),
		})
	}
	t.Cleanup(c.stop)
	for i, node := range c.Nodes {
		cfg := filepath.Join(node.dir, "vaultd.hcl")
		if err := os.WriteFile(cfg, []byte(c.nodeHCL(i)), 0o600); err != nil {
			t.Fatal(err)
		}
		node.cmd = exec.Command(bin, "-config", cfg)
		node.cmd.Dir = node.dir
		w := &syncWriter{w: &node.log}
		node.cmd.Stdout, node.cmd.Stderr = w, w
		if err := node.cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", node.ID, err)
		}
		go func(node *vaultNode) { _ = node.cmd.Wait(); close(node.exited) }(node)
	}
	for _, node := range c.Nodes {
		if err := c.waitAPI(node, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// nodeHCL is node i's configuration: TLS listener with metrics open to
// Prometheus, raft storage with retry_join to node0.
func (c *testCluster) nodeHCL(i int) string {
	n := c.Nodes[i]
	var b strings.Builder
	fmt.Fprintf(&b, "storage \"raft\" {\n  path    = %q\n  node_id = %q\n", filepath.Join(n.dir, "data"), n.ID)
	if i > 0 {
		fmt.Fprintf(&b, "  retry_join {\n    leader_api_addr     = %q\n    leader_ca_cert_file = %q\n  }\n", c.Nodes[0].URL(), c.ca.CAFile)
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "listener \"tcp\" {\n  address         = %q\n  cluster_address = %q\n  tls_cert_file   = %q\n  tls_key_file    = %q\n",
		n.APIAddr, n.ClusterAddr, c.ca.CertFile, c.ca.KeyFile)
	b.WriteString("  telemetry {\n    unauthenticated_metrics_access = true\n  }\n}\n")
	fmt.Fprintf(&b, "api_addr     = %q\ncluster_addr = %q\nlog_level    = \"info\"\n", n.URL(), "https://"+n.ClusterAddr)
	return b.String()
}

// syncWriter serializes a process's stdout and stderr writes.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// waitAPI polls sys/seal-status until the node answers.
func (c *testCluster) waitAPI(n *vaultNode, timeout time.Duration) error {
	hc := c.ca.httpClient()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := hc.Get(n.URL() + "/v1/sys/seal-status"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-n.exited:
			return fmt.Errorf("%s exited during start-up", n.ID)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer on %s within %v", n.ID, n.APIAddr, timeout)
}

// client returns an OpenBao API client for node i with token.
func (c *testCluster) client(i int, token string) *vault.Client {
	c.t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = c.Nodes[i].URL()
	cfg.MaxRetries = 0
	cfg.Timeout = 10 * time.Second
	if err := cfg.ConfigureTLS(&vault.TLSConfig{CACert: c.ca.CAFile}); err != nil {
		c.t.Fatal(err)
	}
	cl, err := vault.NewClient(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	cl.SetToken(token)
	return cl
}

// initUnseal initializes node0 with one key share, unseals every node
// once it reports initialized (joined), and waits until all are voters.
func (c *testCluster) initUnseal() {
	c.t.Helper()
	init, err := c.client(0, "").Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		c.t.Fatalf("init node0: %v", err)
	}
	c.init = init
	for i := range c.Nodes {
		if err := c.unseal(i, time.Minute); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.waitVoters(len(c.Nodes), 2*time.Minute); err != nil {
		c.t.Fatal(err)
	}
}

// unseal waits until node i is initialized, then unseals it.
func (c *testCluster) unseal(i int, timeout time.Duration) error {
	cl := c.client(i, "")
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		st, err := cl.Sys().SealStatus()
		switch {
		case err != nil:
			last = err
		case !st.Initialized:
			last = errors.New("not initialized yet")
		case !st.Sealed:
			return nil
		default:
			if st, err = cl.Sys().Unseal(c.init.Keys[0]); err == nil && !st.Sealed {
				return nil
			}
			last = fmt.Errorf("unseal: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("unseal %s within %v: %w", c.Nodes[i].ID, timeout, last)
}

// waitVoters waits until node0 reports want voters in the raft
// configuration.
func (c *testCluster) waitVoters(want int, timeout time.Duration) error {
	cl := c.client(0, c.init.RootToken)
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		s, err := cl.Logical().Read("sys/storage/raft/configuration")
		if err == nil && s != nil {
			cfg, _ := s.Data["config"].(map[string]any)
			servers, _ := cfg["servers"].([]any)
			voters := 0
			for _, srv := range servers {
				if m, ok := srv.(map[string]any); ok && m["voter"] == true {
					voters++
				}
			}
			if voters == want {
				return nil
			}
			last = fmt.Sprintf("%d voters of %d servers", voters, len(servers))
		} else {
			last = fmt.Sprint(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("want %d voters within %v: %s", want, timeout, last)
}

// health returns the sys/health status code of node i (0 if it does not
// answer).
func (c *testCluster) health(i int) int {
	resp, err := c.ca.httpClient().Get(c.Nodes[i].URL() + "/v1/sys/health")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// activeNode polls sys/health until exactly one node answers 200.
func (c *testCluster) activeNode(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		active := -1
		for i := range c.Nodes {
			if c.health(i) == http.StatusOK {
				if active >= 0 {
					active = -2
					break
				}
				active = i
			}
		}
		if active >= 0 {
			return active
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("no single active node within %v", timeout)
	return -1
}

// stop sends SIGTERM to every node (SIGKILL after 20 s) and prints the
// logs if the test failed.
func (c *testCluster) stop() {
	for _, n := range c.Nodes {
		if n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(20 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
		if c.t.Failed() {
			c.t.Logf("%s log:\n%s", n.ID, lastLines(n.log.String(), 40))
		}
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
