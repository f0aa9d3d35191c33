package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// testCA is a certificate authority made in a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// newTestCA makes a self-signed CA called cn.
func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          certSerial(t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func certSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pool is a cert pool holding only the CA.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue signs a leaf called cn for usage (x509.ExtKeyUsageServerAuth or
// ClientAuth), valid for 127.0.0.1, and returns it as a tls.Certificate
// with its certificate and key PEM.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: certSerial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// newTLSServer starts a vaultd whose API listener serves TLS with a
// certificate for 127.0.0.1 that serverCA signed (tls_cert_file and
// tls_key_file instead of tls_disable). It reuses the harness's process
// handling: server.start polls the plain-HTTP seal-status URL, which a
// Go TLS listener answers with a plain 400, so it returns once the
// listener is up. Talk to it with tlsURL and tlsHTTPClient.
func newTLSServer(t *testing.T, serverCA *testCA) *server {
	t.Helper()
	dir := t.TempDir()
	s := &server{t: t, dir: dir, addr: freeAddr(t)}
	cluster := freeAddr(t)
	_, certPEM, keyPEM := serverCA.issue(t, "vaultd.e2e.test", x509.ExtKeyUsageServerAuth)
	certFile, keyFile := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s.config = filepath.Join(dir, "node.hcl")
	hcl := fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = "node1"
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_cert_file   = %q
  tls_key_file    = %q
}
api_addr      = "https://%s"
cluster_addr  = "https://%s"
disable_mlock = true
log_level     = "debug"
log_format    = "json"
`, filepath.Join(dir, "data"), s.addr, cluster, certFile, keyFile, s.addr, cluster)
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

// tlsURL is the https base URL of a server made by newTLSServer.
func tlsURL(s *server) string { return "https://" + s.addr }

// tlsHTTPClient trusts only serverCA and presents clientCert when it is
// not nil.
func tlsHTTPClient(serverCA *testCA, clientCert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: serverCA.pool(), MinVersion: tls.VersionTLS12}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{*clientCert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
}

// tlsClient is an OpenBao API client for a TLS server, trusting serverCA
// and presenting clientCert when it is not nil.
func tlsClient(t *testing.T, s *server, serverCA *testCA, clientCert *tls.Certificate, token string) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = tlsURL(s)
	cfg.MaxRetries = 0
	cfg.HttpClient = tlsHTTPClient(serverCA, clientCert)
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

// tlsInitUnseal initialises a TLS server with one key share, unseals it
// and returns the root token.
func tlsInitUnseal(t *testing.T, s *server, serverCA *testCA) string {
	t.Helper()
	c := tlsClient(t, s, serverCA, nil, "")
	init, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init over TLS: %v", err)
	}
	st, err := c.Sys().Unseal(init.Keys[0])
	if err != nil || st.Sealed {
		t.Fatalf("unseal over TLS: %+v, %v", st, err)
	}
	return init.RootToken
}
