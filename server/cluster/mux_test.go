package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
)

var protos = []string{cluster.ProtoRaft, cluster.ProtoForward}

// node is one cluster member in a test: its cluster port and its dialer.
type node struct {
	mux    *cluster.Mux
	dialer *cluster.Dialer
}

// newNode listens on ip:0 with an identity from ca (nil: none yet) and
// dials from ip.
func newNode(t *testing.T, ca *cluster.CA, nodeID, ip string) *node {
	t.Helper()
	var id *cluster.NodeIdentity
	if ca != nil {
		id = mustIdentity(t, ca, nodeID)
	}
	m, err := cluster.Listen(ip+":0", id, protos...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	d, err := cluster.NewDialer(ip, m.Identity)
	if err != nil {
		t.Fatal(err)
	}
	return &node{mux: m, dialer: d}
}

func mustIdentity(t *testing.T, ca *cluster.CA, nodeID string) *cluster.NodeIdentity {
	t.Helper()
	id, err := ca.IssueIdentity(nodeID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// acceptAll accepts from l until it closes and sends each conn on the
// returned channel.
func acceptAll(t *testing.T, l net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 16)
	go func() {
		defer close(ch)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return ch
}

func nextConn(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("listener closed")
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
	}
	return nil
}

// echo writes msg on c and expects the peer to read it and answer it back.
func roundTrip(t *testing.T, client, server net.Conn, msg string) {
	t.Helper()
	go func() {
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(server, buf); err == nil {
			_, _ = server.Write(buf)
		}
	}()
	if _, err := client.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo = %q, %v", buf, err)
	}
}

func TestTwoNodesBothProtocols(t *testing.T) {
	ca := mustCA(t)
	a := newNode(t, ca, "node-a", "127.0.0.1")
	b := newNode(t, ca, "node-b", "127.0.0.2")
	for _, proto := range protos {
		t.Run(proto, func(t *testing.T) {
			accepted := acceptAll(t, b.mux.Listener(proto))
			c, err := a.dialer.DialContext(ctxT(t), b.mux.Addr().String(), proto)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s := nextConn(t, accepted)
			sc := s.(*tls.Conn).ConnectionState()
			if sc.Version != tls.VersionTLS13 || sc.NegotiatedProtocol != proto {
				t.Fatalf("server: version %x proto %q", sc.Version, sc.NegotiatedProtocol)
			}
			if got := cluster.PeerNodeID(sc); got != "node-a" {
				t.Fatalf("server sees peer %q, want node-a", got)
			}
			if got := cluster.PeerNodeID(c.(*tls.Conn).ConnectionState()); got != "node-b" {
				t.Fatalf("client sees peer %q, want node-b", got)
			}
			roundTrip(t, c, s, "hello "+proto)
			// And the other way round, from 127.0.0.2 to 127.0.0.1.
			back := acceptAll(t, a.mux.Listener(proto))
			c2, err := b.dialer.DialContext(ctxT(t), a.mux.Addr().String(), proto)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			roundTrip(t, c2, nextConn(t, back), "back "+proto)
		})
	}
}

func TestDialFromLocalIP(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	client := newNode(t, ca, "client", "127.0.0.2")
	accepted := acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	c, err := client.dialer.DialContext(ctxT(t), server.mux.Addr().String(), cluster.ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := nextConn(t, accepted)
	if ip := s.RemoteAddr().(*net.TCPAddr).IP.String(); ip != "127.0.0.2" {
		t.Fatalf("server sees source IP %s, want 127.0.0.2", ip)
	}
	if s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatalf("server sees %s, client is %s", s.RemoteAddr(), c.LocalAddr())
	}
}

// selfSigned returns a certificate with the cluster SANs signed by its own
// key, not by any CA.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "intruder"},
		DNSNames:     []string{cluster.ServerName, "intruder"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// refused dials addr with cfg and checks the connection is unusable: the
// handshake fails, or the first read fails (TLS 1.3 reports a rejected
// client certificate after the client's handshake returns).
func refused(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("x"))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection not refused (read err %v)", err)
	}
}

func TestServerRefusesClients(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	addr := server.mux.Addr().String()
	accepted := acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	good := mustIdentity(t, ca, "good")
	foreign := mustIdentity(t, mustCA(t), "foreign")
	base := func() *tls.Config {
		// The client trusts the server, so only its own credentials decide.
		cfg := good.ClientConfig(cluster.ProtoRaft)
		cfg.Certificates = nil
		return cfg
	}
	tests := []struct {
		name string
		cfg  func() *tls.Config
	}{
		{"no client certificate", base},
		{"certificate from another CA", func() *tls.Config {
			cfg := base()
			cfg.Certificates = []tls.Certificate{foreign.Cert}
			return cfg
		}},
		{"self-signed certificate", func() *tls.Config {
			cfg := base()
			cfg.Certificates = []tls.Certificate{selfSigned(t)}
			return cfg
		}},
		{"TLS 1.2 only", func() *tls.Config {
			cfg := good.ClientConfig(cluster.ProtoRaft)
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return cfg
		}},
		{"unknown ALPN protocol", func() *tls.Config {
			cfg := good.ClientConfig(cluster.ProtoRaft)
			cfg.NextProtos = []string{"sv-bogus/1"}
			return cfg
		}},
		{"no ALPN protocol", func() *tls.Config {
			cfg := good.ClientConfig(cluster.ProtoRaft)
			cfg.NextProtos = nil
			return cfg
		}},
		{"registered protocol nobody listens on", func() *tls.Config {
			return good.ClientConfig(cluster.ProtoForward)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { refused(t, addr, tt.cfg()) })
	}
	// None of the refused connections reached the listener: the next one
	// accepted is this good one.
	d, _ := cluster.NewDialer("127.0.0.1", func() *cluster.NodeIdentity { return good })
	c, err := d.DialContext(ctxT(t), addr, cluster.ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := nextConn(t, accepted); s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatalf("listener yielded %s before the good client %s", s.RemoteAddr(), c.LocalAddr())
	}
}

func TestClientRefusesForeignServer(t *testing.T) {
	ca := mustCA(t)
	client := newNode(t, ca, "client", "127.0.0.2")
	tests := []struct {
		name string
		id   func() *cluster.NodeIdentity
	}{
		{"server certificate from another CA", func() *cluster.NodeIdentity { return mustIdentity(t, mustCA(t), "evil") }},
		{"self-signed server certificate", func() *cluster.NodeIdentity {
			// Trusts our CA for clients, but presents a self-signed cert.
			id := mustIdentity(t, ca, "evil")
			return &cluster.NodeIdentity{Cert: selfSigned(t), CAPool: id.CAPool}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evil, err := cluster.Listen("127.0.0.1:0", tt.id(), protos...)
			if err != nil {
				t.Fatal(err)
			}
			defer evil.Close()
			acceptAll(t, evil.Listener(cluster.ProtoRaft))
			c, err := client.dialer.DialContext(ctxT(t), evil.Addr().String(), cluster.ProtoRaft)
			if err == nil {
				c.Close()
				t.Fatal("client accepted a foreign server")
			}
			var verr *tls.CertificateVerificationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a certificate verification error", err)
			}
		})
	}
}

func TestDialerErrors(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	id := mustIdentity(t, ca, "client")
	t.Run("no identity", func(t *testing.T) {
		d, _ := cluster.NewDialer("", func() *cluster.NodeIdentity { return nil })
		if _, err := d.DialContext(ctxT(t), server.mux.Addr().String(), cluster.ProtoRaft); !errors.Is(err, cluster.ErrNoIdentity) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown protocol", func(t *testing.T) {
		d, _ := cluster.NewDialer("", func() *cluster.NodeIdentity { return id })
		if c, err := d.DialContext(ctxT(t), server.mux.Addr().String(), "sv-bogus/1"); err == nil {
			c.Close()
			t.Fatal("dial with unknown protocol succeeded")
		}
	})
	t.Run("bad local IP", func(t *testing.T) {
		for _, ip := range []string{"localhost", "127.0.0", "x:1"} {
			if _, err := cluster.NewDialer(ip, nil); !errors.Is(err, cluster.ErrBadLocalIP) {
				t.Fatalf("%q: err = %v", ip, err)
			}
		}
	})
	t.Run("host:port local address", func(t *testing.T) {
		d, err := cluster.NewDialer("127.0.0.2:8201", func() *cluster.NodeIdentity { return id })
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.DialContext(ctxT(t), server.mux.Addr().String(), cluster.ProtoRaft)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ip := c.LocalAddr().(*net.TCPAddr).IP.String(); ip != "127.0.0.2" {
			t.Fatalf("dialled from %s", ip)
		}
	})
}
