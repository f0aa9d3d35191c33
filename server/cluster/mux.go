package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mux is the cluster port: one TCP listener whose connections complete a
// mutual TLS 1.3 handshake and are then handed to a per-protocol listener
// chosen by the negotiated ALPN protocol. Handshakes run off the accept loop,
// each bounded by a timeout, so a slow or silent client delays no one else.
type Mux struct {
	ln      net.Listener
	protos  []string
	id      atomic.Pointer[muxIdentity]
	timeout atomic.Int64 // handshake timeout, nanoseconds
	base    *tls.Config
	check   peerCheck

	mu      sync.Mutex
	subs    map[string]*protoListener
	pending map[net.Conn]struct{} // raw conns still handshaking
	closed  bool
	wg      sync.WaitGroup
}

// muxIdentity pairs an identity with the server config built from it once.
type muxIdentity struct {
	id  *NodeIdentity
	cfg *tls.Config
}

// Listen opens the cluster port on addr for the given ALPN protocols (at
// least one). id may be nil: until SetIdentity installs one, every
// handshake fails. Connections arrive through Listener(proto).
func Listen(addr string, id *NodeIdentity, protos ...string) (*Mux, error) {
	if err := validateProtos(protos); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", addr, err)
	}
	m := &Mux{
		ln:      ln,
		protos:  slices.Clone(protos),
		subs:    make(map[string]*protoListener),
		pending: make(map[net.Conn]struct{}),
	}
	m.base = &tls.Config{MinVersion: tls.VersionTLS13, GetConfigForClient: m.configForClient}
	m.timeout.Store(int64(DefaultHandshakeTimeout))
	m.SetIdentity(id)
	m.wg.Add(1)
	go m.acceptLoop()
	return m, nil
}

func validateProtos(protos []string) error {
	if len(protos) == 0 {
		return fmt.Errorf("cluster: listen: %w: no ALPN protocol given", ErrUnknownProto)
	}
	for i, p := range protos {
		if p == "" || len(p) > 255 || slices.Contains(protos[:i], p) {
			return fmt.Errorf("cluster: listen: %w: bad or duplicate protocol %q", ErrUnknownProto, p)
		}
	}
	return nil
}

// SetIdentity atomically replaces the node identity used for new
// handshakes (established connections keep theirs). nil disables the port:
// every new handshake fails.
func (m *Mux) SetIdentity(id *NodeIdentity) {
	if id == nil {
		m.id.Store(nil)
		return
	}
	cfg := id.ServerConfig(m.protos)
	cfg.VerifyConnection = m.check.verify
	m.id.Store(&muxIdentity{id: id, cfg: cfg})
}

// SetPeerCheck installs check, consulted on every inbound handshake after
// the client's certificate has been verified (nil removes it). It applies
// to handshakes that have not yet verified their peer.
func (m *Mux) SetPeerCheck(check PeerCheck) { m.check.set(check) }

// Identity returns the current node identity, or nil. Its signature fits
// NewDialer, so a node dials with the identity it serves with.
func (m *Mux) Identity() *NodeIdentity {
	if mi := m.id.Load(); mi != nil {
		return mi.id
	}
	return nil
}

// SetHandshakeTimeout changes the bound on one inbound TLS handshake
// (DefaultHandshakeTimeout unless set). d <= 0 is ignored.
func (m *Mux) SetHandshakeTimeout(d time.Duration) {
	if d > 0 {
		m.timeout.Store(int64(d))
	}
}

// Addr returns the address the cluster port listens on.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Listener returns the listener yielding connections that negotiated proto.
// Its Accept returns *tls.Conn values whose handshake is complete. Closing
// it stops delivery for proto only (such connections are then closed); a
// later Listener(proto) call returns a fresh listener. For a protocol not
// given to Listen, the returned listener's Accept fails with
// ErrUnknownProto.
func (m *Mux) Listener(proto string) net.Listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.protos, proto) {
		return newDeadListener(m.ln.Addr(), fmt.Errorf("%w: %q", ErrUnknownProto, proto))
	}
	if m.closed {
		return newDeadListener(m.ln.Addr(), net.ErrClosed)
	}
	l := m.subs[proto]
	if l == nil || l.isClosed() {
		l = newProtoListener(m.ln.Addr())
		m.subs[proto] = l
	}
	return l
}

// Close stops the cluster port: it closes the TCP listener, every
// per-protocol listener and every connection still handshaking, and waits
// for the accept machinery to stop. Connections already delivered stay
// open; their owners close them.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	err := m.ln.Close()
	for _, l := range m.subs {
		_ = l.Close()
	}
	for c := range m.pending {
		_ = c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
	if err != nil {
		return fmt.Errorf("cluster: close listener: %w", err)
	}
	return nil
}

func (m *Mux) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	mi := m.id.Load()
	if mi == nil {
		return nil, ErrNoIdentity
	}
	return mi.cfg, nil
}

// acceptLoop accepts TCP connections and starts one handshake goroutine
// each, backing off on transient errors (such as running out of file
// descriptors) until the listener is closed.
func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	var delay time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !m.track(c) {
			_ = c.Close()
			return
		}
		go m.handshake(c)
	}
}

// track records a raw connection as handshaking; false once closed.
func (m *Mux) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.pending[c] = struct{}{}
	m.wg.Add(1)
	return true
}

// handshake completes the TLS handshake of raw within the timeout and
// delivers the connection to the listener of its negotiated protocol, or
// closes it.
func (m *Mux) handshake(raw net.Conn) {
	defer m.wg.Done()
	tc := tls.Server(raw, m.base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(m.timeout.Load()))
	err := tc.HandshakeContext(ctx)
	cancel()
	m.mu.Lock()
	delete(m.pending, raw)
	l := m.subs[tc.ConnectionState().NegotiatedProtocol]
	m.mu.Unlock()
	if err != nil || l == nil || !l.deliver(tc) {
		_ = raw.Close()
	}
}
