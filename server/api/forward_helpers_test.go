package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// seenRequest is what the active node's core saw of one request.
type seenRequest struct {
	id, remoteAddr, path, token string
	// certs are the DER of Connection.PeerCertificates, leaf first.
	certs [][]byte
}

// recordingCore is a real core that remembers the requests it handled.
type recordingCore struct {
	*core.Core
	mu   sync.Mutex
	seen []seenRequest
}

func (c *recordingCore) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	s := seenRequest{id: req.ID, path: req.Path, token: req.ClientToken}
	if req.Connection != nil {
		s.remoteAddr = req.Connection.RemoteAddr
		for _, c := range req.Connection.PeerCertificates {
			s.certs = append(s.certs, c.Raw)
		}
	}
	c.mu.Lock()
	c.seen = append(c.seen, s)
	c.mu.Unlock()
	return c.Core.HandleRequest(ctx, req)
}

// requests returns what the core saw so far.
func (c *recordingCore) requests() []seenRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seenRequest(nil), c.seen...)
}

// last returns the last request the core saw for path.
func (c *recordingCore) last(t testing.TB, path string) seenRequest {
	t.Helper()
	reqs := c.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].path == path {
			return reqs[i]
		}
	}
	t.Fatalf("core saw no request for %s (saw %v)", path, reqs)
	return seenRequest{}
}

// role is a ClusterRole whose answer the test controls.
type role struct {
	standby atomic.Bool
	addr    atomic.Value // string
	sealed  func() bool  // optional: a sealed node is not a standby
}

func newRole(standby bool, addr string) *role {
	r := &role{}
	r.standby.Store(standby)
	r.addr.Store(addr)
	return r
}

func (r *role) Standby() (bool, string) {
	if r.sealed != nil && r.sealed() {
		return false, ""
	}
	return r.standby.Load(), r.addr.Load().(string)
}

// clusterNode is one node: a real core over inmem storage, its API served
// over HTTP/1.1 and h2c on 127.0.0.1, and its ForwardingServer on a real
// TCP listener (plaintext: in vaultd that listener is the mutual-TLS
// cluster mux).
type clusterNode struct {
	*testServer
	rec         *recordingCore
	root        string
	clusterAddr string
}

// startNode starts a node, initialises it with shares/threshold and
// unseals it; with kv it also mounts kv v2 at secret/.
func startNode(t testing.TB, opts api.Options, shares, threshold int, kv bool) *clusterNode {
	t.Helper()
	c, err := core.New(core.Config{Physical: inmem.New()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingCore{Core: c}
	logs := &bytes.Buffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	}
	s := api.New(rec, opts)
	t.Cleanup(func() { _ = s.Close() })
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := s.ForwardingServer()
	go func() { _ = fs.Serve(ln) }()
	t.Cleanup(fs.Stop)

	n := &clusterNode{
		testServer:  &testServer{core: c, api: s, http: hs, url: hs.URL, client: hs.Client(), logs: logs},
		rec:         rec,
		clusterAddr: ln.Addr().String(),
	}
	var init struct {
		Keys      []string `json:"keys"`
		RootToken string   `json:"root_token"`
	}
	n.mustJSON(t, "PUT", "/v1/sys/init", "", fmt.Sprintf(`{"secret_shares":%d,"secret_threshold":%d}`, shares, threshold), 200, &init)
	for _, k := range init.Keys[:threshold] {
		n.mustJSON(t, "PUT", "/v1/sys/unseal", "", `{"key":"`+k+`"}`, 200, nil)
	}
	n.root = init.RootToken
	if kv {
		n.mustJSON(t, "POST", "/v1/sys/mounts/secret", n.root, `{"type":"kv","options":{"version":"2"}}`, 204, nil)
	}
	return n
}

// startStandby starts a node (1 share, no mounts: its own data differs
// from any active node's) whose role is r, forwarding over plain TCP.
func startStandby(t testing.TB, r api.ClusterRole, opts api.Options) *clusterNode {
	t.Helper()
	opts.Cluster = r
	if opts.ForwardDial == nil {
		opts.ForwardDial = tcpDial
	}
	return startNode(t, opts, 1, 1, false)
}

func tcpDial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// fromIP returns a dialer whose connections come from ip (any 127.0.0.0/8
// address is local on Linux), so the tests can tell the client's address
// from the standby's.
func fromIP(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return d.DialContext
}

// clientFrom returns an HTTP/1.1 client whose connections come from ip.
func clientFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: fromIP(ip)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// grpcFrom dials n's API listener with gRPC (h2c) from ip.
func grpcFrom(t testing.TB, n *clusterNode, ip string) *grpc.ClientConn {
	t.Helper()
	u, err := url.Parse(n.url)
	if err != nil {
		t.Fatal(err)
	}
	dial := fromIP(ip)
	conn, err := grpc.NewClient(u.Host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// via returns a copy of n whose requests use client.
func (n *clusterNode) via(client *http.Client) *testServer {
	ts := *n.testServer
	ts.client = client
	return &ts
}

// counter sums the samples of a counter family matching labels.
func counter(t testing.TB, m *api.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			if matchLabels(metric.GetLabel(), labels) {
				sum += metric.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func matchLabels(have []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, lp := range have {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// lockedWriter serialises writes of concurrent loggers.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
