package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
)

// clientChain issues a client certificate under an intermediate under a
// root CA: the TLS certificate a client presents (leaf and intermediate)
// and that chain's DER, leaf first.
func clientChain(t testing.TB, cn string) (tls.Certificate, [][]byte) {
	t.Helper()
	issue := func(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	now := time.Now()
	ca := func(serial int64, name string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign}
	}
	root, rootKey := issue(ca(1, "root"), nil, nil)
	inter, interKey := issue(ca(2, "intermediate"), root, rootKey)
	leaf, leafKey := issue(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, inter, interKey)
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey, Leaf: leaf},
		[][]byte{leaf.Raw, inter.Raw}
}

// connCore is a Core that records the Connection of each request.
type connCore struct {
	mu   sync.Mutex
	seen []*logical.Connection
}

func (c *connCore) HandleRequest(_ context.Context, req *logical.Request) (*logical.Response, error) {
	c.mu.Lock()
	c.seen = append(c.seen, req.Connection)
	c.mu.Unlock()
	return &logical.Response{Data: map[string]any{"ok": true}}, nil
}

func (c *connCore) MountPoint(string) string { return "" }

func (c *connCore) last(t testing.TB) *logical.Connection {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		t.Fatal("core saw no request")
	}
	return c.seen[len(c.seen)-1]
}

func certsOf(c *logical.Connection) [][]byte {
	if c == nil {
		return nil
	}
	var out [][]byte
	for _, cert := range c.PeerCertificates {
		out = append(out, cert.Raw)
	}
	return out
}

func equalChains(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// tlsClients returns an HTTP/2 client and a gRPC connection to addr over
// TLS, presenting cert when it has one.
func tlsClients(t testing.TB, addr string, pool *x509.CertPool, cert *tls.Certificate) (*http.Client, *grpc.ClientConn) {
	t.Helper()
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg.Clone())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &http.Client{Transport: tr}, conn
}

func restGet(t testing.TB, client *http.Client, url, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestClientCertificateReachesCore: on a real TLS listener built by
// TLSConfig, the chain a client presents reaches core as
// Connection.PeerCertificates, over REST and gRPC; a client without a
// certificate is served and core sees no chain.
func TestClientCertificateReachesCore(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	cfg, err := api.TLSConfig(certFile, keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.RequestClientCert || cfg.MinVersion != tls.VersionTLS13 {
		t.Fatalf("TLSConfig: ClientAuth %v, MinVersion %x; want RequestClientCert, TLS 1.3", cfg.ClientAuth, cfg.MinVersion)
	}
	cert, chain := clientChain(t, "client-a")
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		want [][]byte
	}{
		{"with a client certificate", &cert, chain},
		{"without a client certificate", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core := &connCore{}
			addr, _, _ := serve(t, api.New(core, api.Options{Logger: slog.New(slog.DiscardHandler)}), cfg)
			client, conn := tlsClients(t, addr, pool, tc.cert)

			if code := restGet(t, client, "https://"+addr+"/v1/auth/cert/certs/x", ""); code != 200 {
				t.Fatalf("REST status %d", code)
			}
			if got := certsOf(core.last(t)); !equalChains(got, tc.want) {
				t.Errorf("REST: core saw %d certificates, want %d (the chain as presented)", len(got), len(tc.want))
			}
			if _, err := pb.NewLogicalClient(conn).Handle(context.Background(), &pb.LogicalRequest{Path: "auth/cert/login", Operation: "update"}); err != nil {
				t.Fatal(err)
			}
			if got := certsOf(core.last(t)); !equalChains(got, tc.want) {
				t.Errorf("gRPC: core saw %d certificates, want %d (the chain as presented)", len(got), len(tc.want))
			}
		})
	}
}

// TestServeRequestsClientCertificates: ServeListener requests a client
// certificate even with a TLS config that does not.
func TestServeRequestsClientCertificates(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	serverCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	core := &connCore{}
	addr, _, _ := serve(t, api.New(core, api.Options{Logger: slog.New(slog.DiscardHandler)}),
		&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS13, NextProtos: []string{"h2", "http/1.1"}})
	cert, chain := clientChain(t, "client-b")
	client, _ := tlsClients(t, addr, pool, &cert)
	if code := restGet(t, client, "https://"+addr+"/v1/auth/cert/certs/x", ""); code != 200 {
		t.Fatalf("REST status %d", code)
	}
	if got := certsOf(core.last(t)); !equalChains(got, chain) {
		t.Fatalf("core saw %d certificates, want %d", len(got), len(chain))
	}
}

// TestForwardedClientCertificate: a request a standby forwards, over
// REST or proxied gRPC, reaches the active node's core with the chain the
// client presented to the standby; a client without a certificate cannot
// claim one with the forwarding metadata.
func TestForwardedClientCertificate(t *testing.T) {
	active := startNode(t, api.Options{}, 1, 1, true)
	active.mustJSON(t, "PUT", "/v1/secret/data/app", active.root, `{"data":{"k":"v"}}`, 200, nil)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	certFile, keyFile, pool := writeCert(t)
	cfg, err := api.TLSConfig(certFile, keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	addr, _, _ := serve(t, standby.api, cfg)
	cert, chain := clientChain(t, "client-c")
	_, spoofed := clientChain(t, "spoofed")

	for _, tc := range []struct {
		name  string
		cert  *tls.Certificate
		claim [][]byte // metadata a gRPC client sends itself
		want  [][]byte
	}{
		{"with a client certificate", &cert, nil, chain},
		{"without a client certificate", nil, nil, nil},
		{"a claimed chain without TLS is dropped", nil, spoofed, nil},
		{"a claimed chain never replaces the presented one", &cert, spoofed, chain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, conn := tlsClients(t, addr, pool, tc.cert)
			if code := restGet(t, client, "https://"+addr+"/v1/secret/data/app", active.root); code != 200 {
				t.Fatalf("REST via standby: status %d", code)
			}
			if got := active.rec.last(t, "secret/data/app").certs; !equalChains(got, tc.want) {
				t.Errorf("REST via standby: active core saw %d certificates, want %d", len(got), len(tc.want))
			}
			md := metadata.Pairs("x-vault-token", active.root)
			for _, der := range tc.claim {
				md.Append("x-secretum-forwarded-client-cert-bin", string(der))
			}
			if _, err := pb.NewLogicalClient(conn).Handle(metadata.NewOutgoingContext(context.Background(), md),
				&pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}); err != nil {
				t.Fatal(err)
			}
			if got := active.rec.last(t, "secret/data/app").certs; !equalChains(got, tc.want) {
				t.Errorf("gRPC via standby: active core saw %d certificates, want %d", len(got), len(tc.want))
			}
		})
	}
}

// TestForwardedCertificateNeedsATrustedPeer: the active node takes a
// forwarded chain only from a trusted forwarding peer, as it takes the
// client address; and the cluster-port peer's own TLS certificate (a
// node's) is never taken for a client's.
func TestForwardedCertificateNeedsATrustedPeer(t *testing.T) {
	_, chain := clientChain(t, "client-d")
	nodeCert, _ := clientChain(t, "node-1")
	certFile, keyFile, pool := writeCert(t)
	serverCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// The cluster port speaks TLS here so that its peer has a certificate.
	clusterCreds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS13, ClientAuth: tls.RequireAnyClientCert})
	for _, tc := range []struct {
		name    string
		trusted bool
		claim   [][]byte
		want    [][]byte
	}{
		{"trusted peer", true, chain, chain},
		{"untrusted peer", false, chain, nil},
		{"trusted peer forwarding no chain", true, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			active := startNode(t, api.Options{ForwardCredentials: clusterCreds, ForwardPeerTrusted: func(context.Context, *tls.ConnectionState) bool { return tc.trusted }}, 1, 1, true)
			active.mustJSON(t, "PUT", "/v1/secret/data/app", active.root, `{"data":{"k":"v"}}`, 200, nil)
			conn, err := grpc.NewClient(active.clusterAddr, grpc.WithTransportCredentials(credentials.NewTLS(
				&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{nodeCert}, MinVersion: tls.VersionTLS13})))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			ctx := context.Background()

			forwardREST(t, conn, &pb.ForwardedRequest{Method: "GET", Url: "/v1/secret/data/app", RemoteAddr: "10.1.2.3",
				Headers: []*pb.HTTPHeader{{Name: "X-Vault-Token", Values: []string{active.root}}}, ClientCertificates: tc.claim})
			if got := active.rec.last(t, "secret/data/app").certs; !equalChains(got, tc.want) {
				t.Errorf("REST forward: core saw %d certificates, want %d", len(got), len(tc.want))
			}

			md := metadata.Pairs("x-vault-token", active.root, "x-secretum-forwarded-for", "10.9.9.9")
			for _, der := range tc.claim {
				md.Append("x-secretum-forwarded-client-cert-bin", string(der))
			}
			if _, err := pb.NewLogicalClient(conn).Handle(metadata.NewOutgoingContext(ctx, md),
				&pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}); err != nil {
				t.Fatal(err)
			}
			if got := active.rec.last(t, "secret/data/app").certs; !equalChains(got, tc.want) {
				t.Errorf("proxied gRPC: core saw %d certificates, want %d", len(got), len(tc.want))
			}
		})
	}
}

// TestForwardedCertificateGarbage: a forwarded chain that does not parse
// is refused, not silently dropped.
func TestForwardedCertificateGarbage(t *testing.T) {
	active := startNode(t, api.Options{}, 1, 1, true)
	conn, err := grpc.NewClient(active.clusterAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := pb.NewForwardingClient(conn).Forward(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.ForwardedRequest{Method: "GET", Url: "/v1/secret/data/app", ClientCertificates: [][]byte{[]byte("not DER")}}); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Forward with an unparsable chain: %v, want an error", err)
	}
	md := metadata.Pairs("x-vault-token", active.root, "x-secretum-forwarded-client-cert-bin", "not DER")
	if _, err := pb.NewLogicalClient(conn).Handle(metadata.NewOutgoingContext(context.Background(), md),
		&pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}); err == nil {
		t.Fatal("proxied gRPC with an unparsable chain succeeded")
	}
}

// forwardREST runs one Forward call and drains its answer.
func forwardREST(t testing.TB, conn *grpc.ClientConn, req *pb.ForwardedRequest) {
	t.Helper()
	stream, err := pb.NewForwardingClient(conn).Forward(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var status int32
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if status == 0 {
			status = msg.GetStatus()
		}
	}
	if status != 200 {
		t.Fatalf("forwarded REST status %d", status)
	}
}
