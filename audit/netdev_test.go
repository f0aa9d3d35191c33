package audit_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// peerWait bounds every wait for a test peer.
const peerWait = 10 * time.Second

// peer is a test receiver on a real socket: a listener whose accepted
// connections it reads (or, stalled, holds unread), or a packet socket
// whose datagrams it keeps.
type peer struct {
	network, addr string
	stall         bool

	mu     sync.Mutex
	conns  []*peerStream
	grams  [][]byte
	closed bool
	notify chan struct{}
	ln     net.Listener
	pc     net.PacketConn
	wg     sync.WaitGroup
}

// peerStream is what one accepted connection delivered.
type peerStream struct {
	c     net.Conn
	data  []byte
	ended bool
}

// isDatagram tells whether network sends datagrams.
func isDatagram(network string) bool { return network == "udp" || network == "unixgram" }

// freeAddr returns an address for network on which nothing listens.
func freeAddr(t *testing.T, network string) string {
	t.Helper()
	switch network {
	case "unix", "unixgram":
		return filepath.Join(t.TempDir(), "s.sock")
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPeer listens on network at addr (a free address when empty). A
// stalled stream peer accepts connections and never reads them, with a
// small receive buffer so that the sender's buffers fill.
func startPeer(t *testing.T, network, addr string, stall bool) *peer {
	t.Helper()
	if addr == "" {
		addr = freeAddr(t, network)
	}
	p := &peer{network: network, addr: addr, stall: stall, notify: make(chan struct{}, 1)}
	lc := net.ListenConfig{}
	if stall {
		lc.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}
	}
	var err error
	if isDatagram(network) {
		p.pc, err = lc.ListenPacket(context.Background(), network, addr)
	} else {
		p.ln, err = lc.Listen(context.Background(), network, addr)
	}
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	if p.pc != nil {
		p.wg.Go(p.readGrams)
	} else {
		p.wg.Go(p.accept)
	}
	t.Cleanup(p.close)
	return p
}

func (p *peer) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

func (p *peer) readGrams() {
	buf := make([]byte, 1<<20)
	for {
		n, _, err := p.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.grams = append(p.grams, bytes.Clone(buf[:n]))
		p.mu.Unlock()
		p.signal()
	}
}

func (p *peer) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s := &peerStream{c: c}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns = append(p.conns, s)
		p.mu.Unlock()
		p.signal()
		if !p.stall {
			p.wg.Go(func() { p.read(s) })
		}
	}
}

func (p *peer) read(s *peerStream) {
	buf := make([]byte, 64<<10)
	for {
		n, err := s.c.Read(buf)
		p.mu.Lock()
		s.data = append(s.data, buf[:n]...)
		if err != nil {
			s.ended = true
		}
		p.mu.Unlock()
		p.signal()
		if err != nil {
			return
		}
	}
}

// close stops the peer and closes its connections; it is idempotent.
func (p *peer) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for _, s := range p.conns {
		s.c.Close()
	}
	p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	if p.pc != nil {
		p.pc.Close()
	}
	p.wg.Wait()
}

// waitFor waits until cond, evaluated under the peer's lock, holds.
func (p *peer) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(peerWait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.notify:
		case <-deadline.C:
			t.Fatalf("peer %s %s: timed out waiting for %s", p.network, p.addr, what)
		}
	}
}

// waitEnded waits until every connection accepted so far has ended.
func (p *peer) waitEnded(t *testing.T) {
	t.Helper()
	p.waitFor(t, "the connections to end", func() bool {
		for _, s := range p.conns {
			if !s.ended {
				return false
			}
		}
		return len(p.conns) > 0
	})
}

// messages returns the datagrams, or each connection's bytes, in order.
func (p *peer) messages() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pc != nil {
		return append([][]byte(nil), p.grams...)
	}
	out := make([][]byte, len(p.conns))
	for i, s := range p.conns {
		out[i] = bytes.Clone(s.data)
	}
	return out
}

// lines returns the complete lines received: one per datagram, or each
// connection's newline-terminated lines (an incomplete tail, left by a
// connection cut mid-line, is dropped).
func (p *peer) lines() [][]byte {
	if isDatagram(p.network) {
		return p.messages()
	}
	var out [][]byte
	for _, data := range p.messages() {
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			out = append(out, data[:i])
			data = data[i+1:]
		}
	}
	return out
}

// countLines is len(p.lines()) for use inside waitFor (lock held).
func (p *peer) countLines() int {
	if p.pc != nil {
		return len(p.grams)
	}
	n := 0
	for _, s := range p.conns {
		n += bytes.Count(s.data, []byte("\n"))
	}
	return n
}

// verifyLines checks lines as one log.
func verifyLines(t *testing.T, pub []byte, opts audit.VerifyOptions, lines [][]byte) audit.Report {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	rep, err := audit.VerifySources(pub, opts, audit.Source{Name: "received", R: &b})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify received log: %+v", *rep.Problem)
	}
	return rep
}

// netOpts are device options for network tests.
func netOpts(k keys, wait time.Duration) audit.Options {
	return audit.Options{RootKey: k.root, SigningKey: k.priv, CheckpointEvery: 7, Wait: wait}
}

func newSocket(t *testing.T, network, addr string, o audit.Options, timeout time.Duration) *audit.NetDevice {
	t.Helper()
	d, err := audit.NewSocketDevice(audit.SocketOptions{Network: network, Address: addr, WriteTimeout: timeout}, o)
	if err != nil {
		t.Fatalf("NewSocketDevice: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

var allNetworks = []string{"tcp", "udp", "unix", "unixgram"}

func TestSocketDeviceDelivers(t *testing.T) {
	for _, network := range allNetworks {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			k := newKeys(t)
			p := startPeer(t, network, "", false)
			d := newSocket(t, network, p.addr, netOpts(k, 0), 0)
			const n = 40
			logN(t, d, n)
			seq := d.Position().Seq
			p.waitFor(t, "the entries", func() bool { return p.countLines() == int(seq) })
			rep := verifyLines(t, k.pub, audit.VerifyOptions{AllowOpenTail: true}, p.lines())
			if rep.Entries != n || rep.OpenTail == 0 {
				t.Fatalf("live log: %d entries, open tail %d; want %d and > 0", rep.Entries, rep.OpenTail, n)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			seq = d.Position().Seq
			p.waitFor(t, "the final checkpoint", func() bool { return p.countLines() == int(seq) })
			if !isDatagram(network) {
				p.waitEnded(t)
			}
			rep = verifyLines(t, k.pub, audit.VerifyOptions{}, p.lines())
			if rep.Entries != n || rep.Checkpoints != n/7+2 || rep.LastSeq != seq {
				t.Fatalf("closed log: %+v", rep)
			}
		})
	}
}

// bigEntry is an entry of about 256 KiB (metadata is written as is).
func bigEntry() *audit.Entry {
	e := sampleEntry(0)
	e.Auth.Metadata = map[string]string{"blob": strings.Repeat("a", 256<<10)}
	return e
}

// fillUntilFailure logs big entries until one fails and returns that
// call's error and duration.
func fillUntilFailure(t *testing.T, d audit.Broker) (time.Duration, error) {
	t.Helper()
	e := bigEntry()
	for range 400 {
		start := time.Now()
		if err := d.LogRequest(context.Background(), e); err != nil {
			return time.Since(start), err
		}
	}
	t.Fatal("400 big entries written to a peer that does not read")
	return 0, nil
}

// isTimeout tells whether err is the device's bounded wait or the
// writer's deadline.
func isTimeout(err error) bool {
	return errors.Is(err, audit.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded)
}

// pollSuccess logs until an entry is recorded, within peerWait.
func pollSuccess(t *testing.T, d audit.Broker) {
	t.Helper()
	deadline := time.Now().Add(peerWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := d.LogRequest(context.Background(), sampleEntry(1))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("device did not recover: %v", err)
		}
		<-tick.C
	}
}

func TestSocketDeviceStalledPeer(t *testing.T) {
	const wait = 300 * time.Millisecond
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			k := newKeys(t)
			stalled := startPeer(t, network, "", true)
			d := newSocket(t, network, stalled.addr, netOpts(k, wait), wait)
			took, err := fillUntilFailure(t, d)
			if !isTimeout(err) {
				t.Fatalf("error %v; want ErrTimeout or a write timeout", err)
			}
			if took > 5*wait {
				t.Fatalf("a blocked peer stalled the call %s (wait %s)", took, wait)
			}
			// The peer restarts at the same address and reads.
			stalled.close()
			p := startPeer(t, network, stalled.addr, false)
			pollSuccess(t, d)
			logN(t, d, 5)
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			p.waitEnded(t)
			rep := verifyLines(t, k.pub, audit.VerifyOptions{AllowPartialHead: true}, p.lines())
			if rep.Entries < 6 || rep.LastSeq != d.Position().Seq {
				t.Fatalf("after recovery: %+v, device at %d", rep, d.Position().Seq)
			}
		})
	}
}

func TestSocketDevicePeerDownAtEnable(t *testing.T) {
	// Not udp: it has no connection, and a send to a closed port may
	// succeed.
	for _, network := range []string{"tcp", "unix", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			k := newKeys(t)
			addr := freeAddr(t, network)
			d := newSocket(t, network, addr, netOpts(k, 0), 0)
			if err := d.LogRequest(context.Background(), sampleEntry(0)); err == nil {
				t.Fatal("entry recorded with no peer")
			}
			start := time.Now()
			err := d.LogRequest(context.Background(), sampleEntry(0))
			if !errors.Is(err, audit.ErrNotConnected) || !strings.Contains(err.Error(), addr) {
				t.Fatalf("second entry: %v; want ErrNotConnected naming %s", err, addr)
			}
			if took := time.Since(start); took > audit.RedialBackoff {
				t.Fatalf("failing fast took %s", took)
			}
			p := startPeer(t, network, addr, false)
			pollSuccess(t, d)
			logN(t, d, 3)
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			seq := d.Position().Seq
			p.waitFor(t, "every line", func() bool { return p.countLines() == int(seq) })
			rep := verifyLines(t, k.pub, audit.VerifyOptions{}, p.lines())
			if rep.FirstSeq != 1 || rep.Entries != 4 {
				t.Fatalf("log after a late peer: %+v", rep)
			}
		})
	}
}

func TestSocketDeviceRedialsWhenPeerCloses(t *testing.T) {
	k := newKeys(t)
	p := startPeer(t, "tcp", "", false)
	d := newSocket(t, "tcp", p.addr, netOpts(k, 0), 0)
	logN(t, d, 3)
	p.waitFor(t, "the open checkpoint and 3 lines", func() bool { return p.countLines() == 4 })
	p.mu.Lock()
	p.conns[0].c.Close()
	p.mu.Unlock()
	deadline := time.Now().Add(peerWait)
	for !audit.ConnGone(d) {
		if time.Now().After(deadline) {
			t.Fatal("the device did not see its peer close the connection")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	logN(t, d, 3) // no failure: the device redials
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "a second connection's lines", func() bool {
		return len(p.conns) == 2 && p.conns[1].ended
	})
	rep := verifyLines(t, k.pub, audit.VerifyOptions{}, p.lines())
	if rep.Entries != 6 {
		t.Fatalf("log across two connections: %+v", rep)
	}
}

func TestNetDeviceCloseDoesNotHang(t *testing.T) {
	const wait = 300 * time.Millisecond
	for _, stall := range []bool{false, true} {
		name := map[bool]string{false: "peer down", true: "peer stalled"}[stall]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := newKeys(t)
			addr := freeAddr(t, "tcp")
			if stall {
				addr = startPeer(t, "tcp", "", true).addr
			}
			d := newSocket(t, "tcp", addr, netOpts(k, wait), wait)
			fillUntilFailure(t, d)
			done := make(chan error, 1)
			go func() { done <- d.LogRequest(context.Background(), bigEntry()) }()
			start := time.Now()
			d.Close()
			if took := time.Since(start); took > 5*wait {
				t.Fatalf("Close took %s (wait %s)", took, wait)
			}
			select {
			case <-done:
			case <-time.After(5 * wait):
				t.Fatal("a call in flight did not return after Close")
			}
		})
	}
}

func TestSocketOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		so    audit.SocketOptions
		field string // "" when valid
	}{
		{"defaults", audit.SocketOptions{Address: "127.0.0.1:9"}, ""},
		{"unixgram", audit.SocketOptions{Network: "unixgram", Address: "/tmp/x", WriteTimeout: time.Second}, ""},
		{"no address", audit.SocketOptions{Network: "tcp"}, "address"},
		{"bad network", audit.SocketOptions{Network: "sctp", Address: "x"}, "network"},
		{"negative timeout", audit.SocketOptions{Address: "x", WriteTimeout: -1}, "write_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.so.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate: %v; want an invalid request naming %s", err, tc.field)
			}
			if _, err := audit.NewSocketDevice(tc.so, audit.Options{}); err == nil {
				t.Fatal("NewSocketDevice accepted invalid options")
			}
		})
	}
}

func TestStdoutDevice(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stdout := os.Stdout
	os.Stdout = w
	k := newKeys(t)
	d, err := audit.NewStdoutDevice(audit.Options{RootKey: k.root, SigningKey: k.priv, CheckpointEvery: 4})
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		read <- b.Bytes()
	}()
	logN(t, d, 10) // batch fsync would fail on a pipe: the device must not sync stdout
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	rep, err := audit.VerifySources(k.pub, audit.VerifyOptions{}, audit.Source{Name: "stdout", R: bytes.NewReader(<-read)})
	if err != nil || !rep.OK || rep.Entries != 10 {
		t.Fatalf("stdout log: %+v, %v", rep, err)
	}
}
