package cluster

import (
	"net"
	"sync"
)

// protoListener is the net.Listener of one ALPN protocol on a Mux.
// Connections are handed over unbuffered, so none is stranded in a queue
// when the listener closes.
type protoListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newProtoListener(addr net.Addr) *protoListener {
	return &protoListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next connection that negotiated this protocol.
func (l *protoListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops delivery; connections arriving afterwards are closed.
func (l *protoListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the cluster port's address.
func (l *protoListener) Addr() net.Addr { return l.addr }

func (l *protoListener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// deliver hands c to Accept; false if the listener closed first.
func (l *protoListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// deadListener is returned for an unknown protocol or a closed Mux: its
// Accept always fails with err.
type deadListener struct {
	addr net.Addr
	err  error
}

func newDeadListener(addr net.Addr, err error) *deadListener {
	return &deadListener{addr: addr, err: err}
}

func (l *deadListener) Accept() (net.Conn, error) {
	return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: l.err}
}
func (l *deadListener) Close() error   { return nil }
func (l *deadListener) Addr() net.Addr { return l.addr }
