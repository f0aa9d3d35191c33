package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// DefaultWriteTimeout bounds one write to a socket or syslog peer, dial
// included (Vault's write_timeout).
const DefaultWriteTimeout = 2 * time.Second

// maxKeptBuf is the largest framing buffer a writer keeps between writes.
const maxKeptBuf = 1 << 20

// RedialBackoff is how long a network device fails fast, without
// dialing, after a failed dial: a dead peer then costs a request one
// quick error instead of a dial timeout.
const RedialBackoff = time.Second

// ErrNotConnected: a network device's last dial failed less than
// RedialBackoff ago; it fails without dialing until then.
var ErrNotConnected = errors.New("audit: peer not connected")

// SocketOptions configure a socket device.
type SocketOptions struct {
	// Network is tcp (the default), udp, unix or unixgram.
	Network string
	// Address is host:port for tcp and udp, a socket path for unix and
	// unixgram (required).
	Address string
	// WriteTimeout bounds each write, dial included (default 2 s).
	WriteTimeout time.Duration
}

// withDefaults fills zero fields with the defaults.
func (o SocketOptions) withDefaults() SocketOptions {
	if o.Network == "" {
		o.Network = "tcp"
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	return o
}

// Validate checks the options (zero fields mean their default); its
// errors name the field.
func (o SocketOptions) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: audit: socket: "+f, append([]any{logical.ErrInvalidRequest}, a...)...)
	}
	switch o.Network {
	case "", "tcp", "udp", "unix", "unixgram":
	default:
		return bad("network must be tcp, udp, unix or unixgram, not %q", o.Network)
	}
	switch {
	case o.Address == "":
		return bad("address is required")
	case o.WriteTimeout < 0:
		return bad("write_timeout must not be negative")
	}
	return nil
}

// NetDevice is a Device writing to a network peer: a socket or syslog
// device. It dials lazily and redials on its own after a failure, so it
// starts even when its peer is down and fails per entry until the peer
// is back. Close also closes the connection.
//
// Lines of a failed write may reach the peer (a stream write cut by its
// deadline, the first datagrams of a batch): the device reports the
// entries failed and reuses their seq for the next entries, which go
// over a new connection. A collector that keeps, for each seq, the line
// of the latest connection has a log that verifies.
type NetDevice struct {
	*Device
	w *netWriter
}

var _ Sink = (*NetDevice)(nil)

// NewSocketDevice starts a device writing one JSON line per entry to a
// socket: over tcp and unix the lines as a stream, over udp and unixgram
// one line per datagram, without its newline (an entry larger than a
// datagram fails). It does not dial: the first write does. A zero
// opts.Wait defaults to the larger of DefaultOptions().Wait and
// WriteTimeout, so that a caller waits for the write's own timeout; a
// smaller Wait makes callers give up first (ErrTimeout) while the write
// goes on.
func NewSocketDevice(so SocketOptions, opts Options) (*NetDevice, error) {
	if err := so.Validate(); err != nil {
		return nil, err
	}
	so = so.withDefaults()
	datagram := so.Network == "udp" || so.Network == "unixgram"
	w := &netWriter{
		label: so.Network + " " + so.Address, timeout: so.WriteTimeout, datagram: datagram,
		dial: dialer(so.Network, so.Address),
	}
	if datagram {
		w.frame = func(dst, line []byte, _ time.Time) []byte { return append(dst, line...) }
	}
	return startNetDevice(w, opts)
}

// startNetDevice starts the device over w, defaulting opts.Wait to at
// least w's timeout.
func startNetDevice(w *netWriter, opts Options) (*NetDevice, error) {
	if opts.Wait == 0 {
		opts.Wait = max(DefaultOptions().Wait, w.timeout)
	}
	d, err := NewWriterDevice(w, opts)
	if err != nil {
		return nil, err
	}
	return &NetDevice{Device: d, w: w}, nil
}

// Close closes the device (see Device.Close: a final checkpoint, at most
// Options.Wait) and then its connection, which also ends a write still
// blocked on a peer that is gone. It is idempotent.
func (d *NetDevice) Close() error {
	err := d.Device.Close()
	d.w.Close()
	return err
}

// NewStdoutDevice starts a device writing to the process's standard
// output. The device never syncs or closes it (fsync fails on a pipe or
// a terminal).
func NewStdoutDevice(opts Options) (*Device, error) {
	return NewWriterDevice(struct{ io.Writer }{os.Stdout}, opts)
}

// dialer returns a dial function for one network address.
func dialer(network, address string) func(deadline time.Time) (net.Conn, error) {
	return func(deadline time.Time) (net.Conn, error) {
		d := net.Dialer{Deadline: deadline}
		return d.Dial(network, address)
	}
}

// netWriter is a reconnecting writer to a network peer. Write is called
// by one goroutine at a time (the device's writer); Close may be called
// concurrently with it. Write returns either len(p) and nil, or 0 and an
// error: on a failure it drops the connection (the peer sees the
// connection end, perhaps mid-line) and the next Write redials, unless a
// dial failed less than backoff ago.
type netWriter struct {
	label    string // network and address, for errors
	timeout  time.Duration
	datagram bool // one message per datagram
	// frame appends one framed message for a line (without its newline);
	// nil writes a stream batch as is.
	frame func(dst, line []byte, now time.Time) []byte
	dial  func(deadline time.Time) (net.Conn, error)

	mu      sync.Mutex
	conn    *peerConn
	closed  bool
	retryAt time.Time // no dial before, after a failed dial
	dialErr error
	buf     []byte // framed messages, reused
}

// peerConn is a connection with, for a stream, a reader that marks it
// gone when the peer closes it.
type peerConn struct {
	net.Conn
	gone atomic.Bool
}

// Write implements io.Writer over complete lines ('\n'-terminated), the
// dial and the write bounded together by the timeout.
func (w *netWriter) Write(p []byte) (int, error) {
	now := time.Now()
	deadline := now.Add(w.timeout)
	c, err := w.connect(now, deadline)
	if err != nil {
		return 0, err
	}
	if err := c.SetWriteDeadline(deadline); err != nil {
		w.drop(c)
		return 0, w.wrap("set deadline", err)
	}
	if err := w.send(c, p, now); err != nil {
		w.drop(c)
		return 0, w.wrap("write", err)
	}
	return len(p), nil
}

// Close closes the connection; Writes after it fail.
func (w *netWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.conn == nil {
		return nil
	}
	err := w.conn.Close()
	w.conn = nil
	return err
}

// connect returns the current connection, dialing when there is none
// (or the peer closed it) and the backoff allows.
func (w *netWriter) connect(now, deadline time.Time) (*peerConn, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, w.wrap("write", ErrClosed)
	}
	if c := w.conn; c != nil && !c.gone.Load() {
		w.mu.Unlock()
		return c, nil
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
	if now.Before(w.retryAt) {
		err := fmt.Errorf("%w (next dial in %s): %w", ErrNotConnected, w.retryAt.Sub(now).Round(time.Millisecond), w.dialErr)
		w.mu.Unlock()
		return nil, w.wrap("dial", err)
	}
	w.mu.Unlock()
	nc, err := w.dial(deadline)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.retryAt, w.dialErr = time.Now().Add(RedialBackoff), err
		return nil, w.wrap("dial", err)
	}
	if w.closed {
		nc.Close()
		return nil, w.wrap("write", ErrClosed)
	}
	c := &peerConn{Conn: nc}
	if !w.datagram {
		go watch(c)
	}
	w.conn = c
	return c, nil
}

// watch reads (and discards) what a stream peer sends until the
// connection ends, then marks it gone so the next write redials instead
// of writing into a closed connection.
func watch(c *peerConn) {
	var b [512]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			c.gone.Store(true)
			return
		}
	}
}

// drop closes c if it is still the current connection.
func (w *netWriter) drop(c *peerConn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == c {
		w.conn = nil
	}
	c.Close()
}

// send writes the lines of p: a stream in one write, a datagram network
// one message per line.
func (w *netWriter) send(c net.Conn, p []byte, now time.Time) error {
	if !w.datagram && w.frame == nil {
		_, err := c.Write(p)
		return err
	}
	w.buf = w.buf[:0]
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if !w.datagram {
			w.buf = w.frame(w.buf, line, now)
			continue
		}
		w.buf = w.frame(w.buf[:0], line, now)
		if _, err := c.Write(w.buf); err != nil {
			return err
		}
	}
	var err error
	if !w.datagram {
		_, err = c.Write(w.buf)
	}
	if cap(w.buf) > maxKeptBuf {
		w.buf = nil
	}
	return err
}

// wrap names the peer in an error.
func (w *netWriter) wrap(op string, err error) error {
	return fmt.Errorf("audit: %s %s: %w", op, w.label, err)
}
