package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// writeCertPair writes a self-signed client certificate for cn and its key
// as PEM files in dir.
func writeCertPair(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWithClientCert logs in over mutual TLS: the server must see the
// certificate of WithClientCert, and the client must trust the server by
// VAULT_CACERT as without the option.
func TestWithClientCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writeCertPair(t, dir, "web-client")
	var mu sync.Mutex
	var seen []string
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		mu.Lock()
		seen = append(seen, r.URL.Path+" cn="+cn)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"auth":{"client_token":"s.cert"}}`))
	}))
	hs.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", hs.Certificate().Raw)

	env := envOf(map[string]string{"VAULT_ADDR": hs.URL, "VAULT_CACERT": caFile})
	c, err := client.New(client.WithEnv(env), client.WithClientCert(certFile, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.LoginCert(context.Background(), "cert", "web")
	if err != nil || s.Auth.ClientToken != "s.cert" {
		t.Fatalf("LoginCert = %+v, %v", s, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "/v1/auth/cert/login cn=web-client" {
		t.Fatalf("server saw %q", seen)
	}

	// Without the option the same server refuses the handshake.
	plain, err := client.New(client.WithEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.LoginCert(context.Background(), "cert", "web"); err == nil {
		t.Fatal("login without a client certificate succeeded")
	}
}

func TestWithClientCertErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writeCertPair(t, dir, "c")
	_, otherKey := writeCertPair(t, dir, "other")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    []client.Option
		wantErr error // nil: any error
	}{
		{"no key", []client.Option{client.WithClientCert(certFile, "")}, client.ErrInvalidArgument},
		{"no certificate", []client.Option{client.WithClientCert("", keyFile)}, client.ErrInvalidArgument},
		{"with http client", []client.Option{client.WithHTTPClient(http.DefaultClient), client.WithClientCert(certFile, keyFile)},
			client.ErrInvalidArgument},
		{"missing file", []client.Option{client.WithClientCert(filepath.Join(dir, "none.pem"), keyFile)}, os.ErrNotExist},
		{"not PEM", []client.Option{client.WithClientCert(notPEM, keyFile)}, nil},
		{"key of another certificate", []client.Option{client.WithClientCert(certFile, otherKey)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]client.Option{client.WithEnv(envOf(nil))}, tt.opts...)
			c, err := client.New(opts...)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("New = %v, %v; want an error matching %v", c, err, tt.wantErr)
			}
		})
	}
	// Both empty is no client certificate, not an error.
	if _, err := client.New(client.WithEnv(envOf(nil)), client.WithClientCert("", "")); err != nil {
		t.Fatalf("WithClientCert(\"\", \"\"): %v", err)
	}
}
