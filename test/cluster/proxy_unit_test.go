package cluster

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer listens on ip:0 and echoes every line back.
func echoServer(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// dialFrom connects to addr from source IP src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends one line and returns nil if it comes back. A closed
// connection yields io.EOF or a reset; a hang yields a timeout error.
func echo(c net.Conn) error {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return errors.New("echo mismatch: " + line)
	}
	return nil
}

// assertClosed fails unless c was closed by the proxy (not left hanging).
func assertClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	err := echo(c)
	if err == nil {
		t.Fatalf("%s: traffic still flows", what)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: connection hangs instead of being closed: %v", what, err)
	}
}

// testNet is three echo "nodes" on 127.0.0.11-13, each behind a proxy.
type testNet struct {
	net     *Network
	proxies map[string]*Proxy
}

var testIPs = map[string]string{"127.0.0.11": "n0", "127.0.0.12": "n1", "127.0.0.13": "n2"}

func nodeIP(id string) string {
	for ip, n := range testIPs {
		if n == id {
			return ip
		}
	}
	return ""
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	tn := &testNet{net: NewNetwork(testIPs), proxies: map[string]*Proxy{}}
	t.Cleanup(func() { tn.net.Close() })
	for ip, id := range testIPs {
		p, err := tn.net.NewProxy(id, echoServer(t, ip))
		if err != nil {
			t.Fatal(err)
		}
		tn.proxies[id] = p
	}
	return tn
}

// conn opens a connection from node `from` to node `to` through to's proxy.
func (tn *testNet) conn(t *testing.T, from, to string) net.Conn {
	return dialFrom(t, nodeIP(from), tn.proxies[to].Addr())
}

func TestProxyForwardsAndIdentifiesSource(t *testing.T) {
	tn := newTestNet(t)
	for _, pair := range [][2]string{{"n0", "n1"}, {"n1", "n0"}, {"n2", "n0"}, {"n0", "n2"}} {
		if err := echo(tn.conn(t, pair[0], pair[1])); err != nil {
			t.Fatalf("%s->%s: %v", pair[0], pair[1], err)
		}
	}
	// A source IP that maps to no node is forwarded but counted.
	if err := echo(dialFrom(t, "127.0.0.1", tn.proxies["n1"].Addr())); err != nil {
		t.Fatalf("unidentified source: %v", err)
	}
	if st := tn.net.Stats(); st.Accepted != 5 || st.Unidentified != 1 || st.Refused != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestProxyBlock(t *testing.T) {
	tests := []struct {
		name      string
		from, to  string
		wantBlock bool
	}{
		{"blocked direction", "n0", "n1", true},
		{"reverse direction still open", "n1", "n0", false},
		{"other source to same target", "n2", "n1", false},
		{"same source to other target", "n0", "n2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTestNet(t)
			open := tn.conn(t, tt.from, tt.to)
			if err := echo(open); err != nil {
				t.Fatalf("before block: %v", err)
			}
			tn.net.Block("n0", "n1")
			if !tt.wantBlock {
				if err := echo(open); err != nil {
					t.Fatalf("open connection cut: %v", err)
				}
				if err := echo(tn.conn(t, tt.from, tt.to)); err != nil {
					t.Fatalf("new connection refused: %v", err)
				}
				return
			}
			assertClosed(t, open, "existing connection after Block")
			assertClosed(t, tn.conn(t, tt.from, tt.to), "new connection after Block")
			tn.net.Unblock("n0", "n1")
			if err := echo(tn.conn(t, tt.from, tt.to)); err != nil {
				t.Fatalf("after Unblock: %v", err)
			}
			if st := tn.net.Stats(); st.Cut != 1 || st.Refused != 1 {
				t.Fatalf("stats = %+v, want 1 cut and 1 refused", st)
			}
		})
	}
}

func TestProxyPartitionAndHeal(t *testing.T) {
	tn := newTestNet(t)
	pairs := [][2]string{{"n0", "n1"}, {"n1", "n0"}, {"n0", "n2"}, {"n2", "n0"}, {"n1", "n2"}, {"n2", "n1"}}
	open := map[[2]string]net.Conn{}
	for _, p := range pairs {
		open[p] = tn.conn(t, p[0], p[1])
		if err := echo(open[p]); err != nil {
			t.Fatalf("%v before partition: %v", p, err)
		}
	}
	tn.net.Partition([]string{"n0"}, []string{"n1", "n2"})
	for _, p := range pairs {
		crosses := (p[0] == "n0") != (p[1] == "n0")
		t.Run(p[0]+"->"+p[1], func(t *testing.T) {
			if crosses {
				assertClosed(t, open[p], "existing connection across the partition")
				assertClosed(t, tn.conn(t, p[0], p[1]), "new connection across the partition")
				return
			}
			if err := echo(open[p]); err != nil {
				t.Fatalf("connection inside a group cut: %v", err)
			}
		})
	}
	if got := tn.net.Blocked(); len(got) != 4 {
		t.Fatalf("blocked links = %v, want 4", got)
	}
	tn.net.Heal()
	for _, p := range pairs {
		if err := echo(tn.conn(t, p[0], p[1])); err != nil {
			t.Fatalf("%v after heal: %v", p, err)
		}
	}
	if got := tn.net.Blocked(); len(got) != 0 {
		t.Fatalf("blocked links after heal = %v", got)
	}
}

func TestProxyPartitionReplacesRules(t *testing.T) {
	tn := newTestNet(t)
	tn.net.Partition([]string{"n0"}, []string{"n1", "n2"})
	tn.net.Partition([]string{"n2"}, []string{"n0", "n1"})
	if err := echo(tn.conn(t, "n0", "n1")); err != nil {
		t.Fatalf("n0->n1 should be open after the second partition: %v", err)
	}
	assertClosed(t, tn.conn(t, "n1", "n2"), "n1->n2 after the second partition")
}

func TestProxyClose(t *testing.T) {
	tn := newTestNet(t)
	c := tn.conn(t, "n0", "n1")
	if err := echo(c); err != nil {
		t.Fatal(err)
	}
	if err := tn.proxies["n1"].Close(); err != nil {
		t.Fatal(err)
	}
	assertClosed(t, c, "connection after proxy Close")
	d := net.Dialer{Timeout: time.Second}
	if c2, err := d.Dial("tcp", tn.proxies["n1"].Addr()); err == nil {
		c2.Close()
		t.Fatal("closed proxy still accepts connections")
	}
}
