package api_test

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
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "secretumvault-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serve runs s.Serve on a loopback listener until the test ends.
func serve(t *testing.T, s *api.Server, tlsCfg *tls.Config) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- s.Serve(ctx, ln, tlsCfg)
		close(errc) // later receivers (the cleanup) get nil at once
	}()
	t.Cleanup(func() {
		cancel()
		<-errc
	})
	return ln.Addr().String(), cancel, errc
}

func newCore(t *testing.T) *core.Core {
	t.Helper()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	tests := []struct {
		name       string
		minVersion string
		clientMax  uint16
		wantOK     bool
	}{
		{"default is TLS 1.3", "", tls.VersionTLS13, true},
		{"default refuses TLS 1.2 clients", "", tls.VersionTLS12, false},
		{"tls12 accepts TLS 1.2 clients", "tls12", tls.VersionTLS12, true},
		{"tls13 refuses TLS 1.2 clients", "tls13", tls.VersionTLS12, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := api.TLSConfig(certFile, keyFile, tc.minVersion)
			if err != nil {
				t.Fatal(err)
			}
			addr, _, _ := serve(t, api.New(newCore(t), api.Options{Logger: slog.New(slog.DiscardHandler)}), cfg)
			client := &http.Client{Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{RootCAs: pool, MaxVersion: tc.clientMax},
				ForceAttemptHTTP2: true,
			}}
			defer client.CloseIdleConnections()
			resp, err := client.Get("https://" + addr + "/v1/sys/health")
			if !tc.wantOK {
				if err == nil {
					resp.Body.Close()
					t.Fatal("handshake succeeded, want failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 501 || resp.ProtoMajor != 2 {
				t.Fatalf("health over TLS = %d %s", resp.StatusCode, resp.Proto)
			}
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			st, err := pb.NewSysClient(conn).SealStatus(context.Background(), &pb.SealStatusRequest{})
			if err != nil || !st.GetSealed() {
				t.Fatalf("gRPC over TLS on the same port = %v, %v", st, err)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := writeCert(t)
	if _, err := api.TLSConfig(certFile, keyFile, "tls11"); !errors.Is(err, api.ErrTLSVersion) {
		t.Errorf("tls11: %v, want ErrTLSVersion", err)
	}
	if _, err := api.TLSConfig(filepath.Join(t.TempDir(), "none.pem"), keyFile, ""); err == nil {
		t.Error("missing certificate file accepted")
	}
	if _, err := api.TLSConfig(keyFile, certFile, ""); err == nil {
		t.Error("swapped certificate and key accepted")
	}
}

// gatedCore holds requests to one path until released, to observe shutdown
// with a request in flight.
type gatedCore struct {
	*core.Core
	entered, release chan struct{}
}

func (g *gatedCore) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Path == "gate/wait" {
		close(g.entered)
		<-g.release
		return &logical.Response{Data: map[string]any{"released": true}}, nil
	}
	return g.Core.HandleRequest(ctx, req)
}

func TestServeGracefulShutdown(t *testing.T) {
	g := &gatedCore{Core: newCore(t), entered: make(chan struct{}), release: make(chan struct{})}
	addr, cancel, done := serve(t, api.New(g, api.Options{}), nil)

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := pb.NewSysClient(conn).SealStatus(context.Background(), &pb.SealStatusRequest{}); err != nil {
		t.Fatalf("gRPC over h2c: %v", err)
	}

	type answer struct {
		status int
		body   string
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/v1/gate/wait")
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- answer{status: resp.StatusCode, body: string(b)}
	}()
	<-g.entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(g.release)
	a := <-got
	if a.err != nil || a.status != 200 || !strings.Contains(a.body, `"released":true`) {
		t.Fatalf("in-flight request = %+v", a)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after shutdown = %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("listener still accepting after shutdown")
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	g := &gatedCore{Core: newCore(t), entered: make(chan struct{}), release: make(chan struct{})}
	defer close(g.release)
	opts := api.Options{ShutdownTimeout: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	addr, cancel, done := serve(t, api.New(g, opts), nil)
	go func() {
		if resp, err := http.Get("http://" + addr + "/v1/gate/wait"); err == nil {
			resp.Body.Close()
		}
	}()
	<-g.entered
	cancel()
	if err := <-done; err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Serve = %v, want a shutdown deadline error", err)
	}
}
