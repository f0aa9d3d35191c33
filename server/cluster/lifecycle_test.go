package cluster_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
)

func TestSetIdentity(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, nil, "", "127.0.0.1") // not joined yet
	addr := server.mux.Addr().String()
	accepted := acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	if server.mux.Identity() != nil {
		t.Fatal("identity before SetIdentity")
	}
	client := mustIdentity(t, ca, "client")
	d, _ := cluster.NewDialer("127.0.0.2", func() *cluster.NodeIdentity { return client })
	dial := func() (net.Conn, error) { return d.DialContext(ctxT(t), addr, cluster.ProtoRaft) }

	if c, err := dial(); err == nil {
		c.Close()
		t.Fatal("handshake succeeded before the server had an identity")
	}
	// After a join gives the node its certificate, the same port serves.
	server.mux.SetIdentity(mustIdentity(t, ca, "server"))
	c, err := dial()
	if err != nil {
		t.Fatalf("after SetIdentity: %v", err)
	}
	roundTrip(t, c, nextConn(t, accepted), "joined")
	c.Close()

	// Swapping to an identity from a new CA: clients of the old CA are
	// refused, established connections are not touched.
	newCA := mustCA(t)
	server.mux.SetIdentity(mustIdentity(t, newCA, "server"))
	if c, err := dial(); err == nil {
		c.Close()
		t.Fatal("client of the old CA accepted after the swap")
	}
	fresh := mustIdentity(t, newCA, "client2")
	d2, _ := cluster.NewDialer("", func() *cluster.NodeIdentity { return fresh })
	c2, err := d2.DialContext(ctxT(t), addr, cluster.ProtoRaft)
	if err != nil {
		t.Fatalf("client of the new CA: %v", err)
	}
	defer c2.Close()
	roundTrip(t, c2, nextConn(t, accepted), "swapped")

	// nil disables the port again (e.g. on seal).
	server.mux.SetIdentity(nil)
	if c, err := d2.DialContext(ctxT(t), addr, cluster.ProtoRaft); err == nil {
		c.Close()
		t.Fatal("handshake succeeded after SetIdentity(nil)")
	}
}

func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	client := newNode(t, ca, "client", "127.0.0.2")
	server.mux.SetHandshakeTimeout(time.Minute) // the silent clients would hold it for a minute
	accepted := acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	for range 5 {
		silent, err := net.Dial("tcp", server.mux.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
	}
	start := time.Now()
	c, err := client.dialer.DialContext(ctxT(t), server.mux.Addr().String(), cluster.ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, nextConn(t, accepted), "not blocked")
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("good client waited %v behind silent ones", d)
	}
}

func TestHandshakeTimeoutClosesSilentClient(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	server.mux.SetHandshakeTimeout(200 * time.Millisecond)
	silent, err := net.Dial("tcp", server.mux.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = silent.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("silent client not disconnected by the server: %v", err)
	}
}

func TestProtocolListenerCloseAndReopen(t *testing.T) {
	ca := mustCA(t)
	server := newNode(t, ca, "server", "127.0.0.1")
	client := newNode(t, ca, "client", "127.0.0.2")
	addr := server.mux.Addr().String()
	raftL := server.mux.Listener(cluster.ProtoRaft)
	fwd := acceptAll(t, server.mux.Listener(cluster.ProtoForward))
	if err := raftL.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := raftL.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	// Raft connections are now closed by the server...
	if c, err := client.dialer.DialContext(ctxT(t), addr, cluster.ProtoRaft); err == nil {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("raft connection served after its listener closed")
		}
		c.Close()
	}
	// ...while forwarding still works on the same port.
	c, err := client.dialer.DialContext(ctxT(t), addr, cluster.ProtoForward)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, nextConn(t, fwd), "forward")
	// A fresh raft listener serves again (raft restarted).
	again := acceptAll(t, server.mux.Listener(cluster.ProtoRaft))
	c2, err := client.dialer.DialContext(ctxT(t), addr, cluster.ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	roundTrip(t, c2, nextConn(t, again), "raft again")
}

func TestMuxClose(t *testing.T) {
	ca := mustCA(t)
	m, err := cluster.Listen("127.0.0.1:0", mustIdentity(t, ca, "n1"), protos...)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Listener(cluster.ProtoRaft)
	silent, err := net.Dial("tcp", m.Addr().String()) // mid-handshake at Close
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(50 * time.Millisecond) // let the accept loop pick it up
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after mux Close: %v", err)
	}
	if _, err := m.Listener(cluster.ProtoForward).Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("new listener after mux Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", m.Addr().String(), time.Second); err == nil {
		t.Fatal("port still open after Close")
	}
}

func TestListenErrors(t *testing.T) {
	tests := []struct {
		name   string
		addr   string
		protos []string
	}{
		{"no protocols", "127.0.0.1:0", nil},
		{"empty protocol", "127.0.0.1:0", []string{""}},
		{"duplicate protocol", "127.0.0.1:0", []string{"a", "a"}},
		{"bad address", "256.0.0.1:0", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := cluster.Listen(tt.addr, nil, tt.protos...); err == nil {
				m.Close()
				t.Fatal("Listen succeeded")
			}
		})
	}
	m, err := cluster.Listen("127.0.0.1:0", nil, cluster.ProtoRaft)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Listener("sv-bogus/1").Accept(); !errors.Is(err, cluster.ErrUnknownProto) {
		t.Fatalf("unknown protocol listener: %v", err)
	}
}
