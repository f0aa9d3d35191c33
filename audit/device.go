package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Errors of a device.
var (
	// ErrTimeout: the device did not accept (or, with fsync always, did
	// not sync) the entry within Options.Wait. The entry may still be
	// written later.
	ErrTimeout = errors.New("audit: device did not record the entry within the bounded wait")
	// ErrClosed: the device is closed.
	ErrClosed = errors.New("audit: device closed")
	// ErrTornTail: an existing log ends in the middle of a line.
	ErrTornTail = errors.New("audit: log ends mid-line")
)

// FsyncMode says when a device syncs its file to disk.
type FsyncMode string

// Fsync modes.
const (
	// FsyncBatch (the default): each entry is written to the file before
	// LogRequest/LogResponse returns, and the file is synced within
	// BatchWindow of the write, one sync shared by the entries of that
	// window. A process crash loses nothing; a power loss at most the
	// window, which Verify reports as truncation.
	FsyncBatch FsyncMode = "batch"
	// FsyncAlways: the call returns after the group sync that covers its
	// entry (every batch the writer drains shares one sync).
	FsyncAlways FsyncMode = "always"
	// FsyncNever: never sync; the operating system flushes.
	FsyncNever FsyncMode = "never"
)

// BatchWindow is how long FsyncBatch waits before syncing.
const BatchWindow = 10 * time.Millisecond

// Position is where a device's chain stands: the last line written.
type Position struct {
	// Seq is the last line's seq (0: no line yet).
	Seq uint64
	// PrevHash is the hex SHA-256 of the last line (ZeroHash if none).
	PrevHash string
	// Gen is the HMAC key generation of the last line.
	Gen uint64
}

// Options configure a device.
type Options struct {
	// RootKey is the device's 32-byte HMAC root key (required).
	RootKey []byte
	// SigningKey signs checkpoints (required).
	SigningKey ed25519.PrivateKey
	// RatchetEvery is N: a new HMAC key generation every N entries
	// (default 1,024), and at every open.
	RatchetEvery int
	// CheckpointEvery is K: a signed checkpoint after every K entries
	// (default 1,000), and on Reopen and Close.
	CheckpointEvery int
	// Wait bounds how long a call waits for the device (default 2 s).
	Wait time.Duration
	// Fsync is the sync mode (default FsyncBatch); it applies when the
	// writer has a Sync() error method (an *os.File has).
	Fsync FsyncMode
	// Resume continues a chain whose log holds no line yet (a fresh file
	// after a rotation while the server was down); ignored when the log
	// has lines, whose last line wins.
	Resume *Position
}

// DefaultOptions returns the defaults; the caller sets the keys.
func DefaultOptions() Options {
	return Options{RatchetEvery: 1024, CheckpointEvery: 1000, Wait: 2 * time.Second, Fsync: FsyncBatch}
}

// withDefaults fills zero fields with the defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.RatchetEvery == 0 {
		o.RatchetEvery = d.RatchetEvery
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = d.CheckpointEvery
	}
	if o.Wait == 0 {
		o.Wait = d.Wait
	}
	if o.Fsync == "" {
		o.Fsync = d.Fsync
	}
	return o
}

// Validate checks the options; its errors name the field.
func (o Options) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: audit: "+f, append([]any{logical.ErrInvalidRequest}, a...)...)
	}
	switch {
	case len(o.RootKey) != RootKeySize:
		return bad("root_key must be %d bytes", RootKeySize)
	case len(o.SigningKey) != ed25519.PrivateKeySize:
		return bad("signing_key must be an Ed25519 private key")
	case o.RatchetEvery < 1:
		return bad("ratchet_every must be positive")
	case o.CheckpointEvery < 1:
		return bad("checkpoint_every must be positive")
	case o.Wait <= 0:
		return bad("wait must be positive")
	}
	switch o.Fsync {
	case FsyncBatch, FsyncAlways, FsyncNever:
		return nil
	}
	return bad("fsync must be batch, always or never, not %q", o.Fsync)
}

// item is one entry on its way to the writer: its line but the chain
// fields, encoded by the caller.
type item struct {
	body []byte
	res  chan error // buffered 1
}

// genKey is a published HMAC key generation.
type genKey struct {
	gen uint64
	key []byte
}

// Device is an audit device: a Broker that writes a hash-chained log
// through one writer goroutine, which batches the entries it finds
// waiting. Its methods are safe for concurrent use.
type Device struct {
	opts  Options
	reqs  chan *item
	ctl   chan func()
	quit  chan struct{}
	done  chan struct{}
	close sync.Once

	mu  sync.Mutex
	pos Position // mirror of the writer's position, for Position()

	// cur is the generation callers encode with; the writer moves it.
	cur     atomic.Pointer[genKey]
	hashers sync.Pool // of *poolHasher

	// Writer goroutine state.
	w        io.Writer
	reopen   func() (io.Writer, error)
	closeW   func() error
	chain    chainState
	broken   error
	syncErr  error // a failed batch sync, reported to the next batch
	buf      bytes.Buffer
	timer    *time.Timer
	timerC   <-chan time.Time
	closeErr error
}

var _ Broker = (*Device)(nil)

// chainState is the writer's position plus its counters.
type chainState struct {
	Position
	genCount uint64 // entries written under Gen
	sinceCP  uint64 // entries since the last checkpoint
}

// NewWriterDevice starts a device writing to w (stdout, a socket, a test
// writer) with its chain starting at opts.Resume, or at seq 1. The
// device never closes w.
func NewWriterDevice(w io.Writer, opts Options) (*Device, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	start := Position{PrevHash: ZeroHash}
	if opts.Resume != nil {
		start = *opts.Resume
	}
	return startDevice(w, opts, start, nil, nil), nil
}

// startDevice starts the writer goroutine. start is the last line
// written; the device begins a new key generation after it.
func startDevice(w io.Writer, opts Options, start Position, reopen func() (io.Writer, error), closeW func() error) *Device {
	d := &Device{
		opts: opts, reqs: make(chan *item, 1024), ctl: make(chan func()),
		quit: make(chan struct{}), done: make(chan struct{}),
		w: w, reopen: reopen, closeW: closeW,
	}
	d.chain.Position = start
	if start.Seq > 0 {
		d.chain.Gen = start.Gen + 1
	}
	d.publishGen()
	d.pos = start
	go d.run()
	return d
}

// LogRequest implements Broker: it returns once the entry is written (see
// FsyncMode), or fails with ErrTimeout after Options.Wait.
func (d *Device) LogRequest(ctx context.Context, e *Entry) error {
	return d.log(ctx, TypeRequest, e)
}

// LogResponse implements Broker, like LogRequest.
func (d *Device) LogResponse(ctx context.Context, e *Entry) error {
	return d.log(ctx, TypeResponse, e)
}

// Position returns the last line written.
func (d *Device) Position() Position {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pos
}

// Close writes what is queued and a final checkpoint, syncs and closes
// the log; calls after Close fail with ErrClosed. It waits at most
// Options.Wait for the writer (a blocked writer makes it fail with
// ErrTimeout; the writer then finishes on its own if it unblocks). Close
// is idempotent.
func (d *Device) Close() error {
	d.close.Do(func() { close(d.quit) })
	t := time.NewTimer(d.opts.Wait)
	defer t.Stop()
	select {
	case <-d.done:
		return d.closeErr
	case <-t.C:
		return fmt.Errorf("%w (%s): close", ErrTimeout, d.opts.Wait)
	}
}

func (d *Device) log(ctx context.Context, typ string, e *Entry) error {
	body, err := d.encode(typ, e)
	if err != nil {
		return err
	}
	it := &item{body: body, res: make(chan error, 1)}
	t := time.NewTimer(d.opts.Wait)
	defer t.Stop()
	select {
	case d.reqs <- it:
	case <-t.C:
		return fmt.Errorf("%w (%s, queue full)", ErrTimeout, d.opts.Wait)
	case <-ctx.Done():
		return fmt.Errorf("audit: %w", ctx.Err())
	case <-d.quit:
		return ErrClosed
	}
	select {
	case err := <-it.res:
		return err
	case <-t.C:
		return fmt.Errorf("%w (%s)", ErrTimeout, d.opts.Wait)
	case <-ctx.Done():
		return fmt.Errorf("audit: %w", ctx.Err())
	case <-d.done:
		select {
		case err := <-it.res:
			return err
		default:
			return ErrClosed
		}
	}
}

// poolHasher is a hasher with its generation.
type poolHasher struct {
	gen uint64
	h   *hasher
}

// encode HMACs and encodes e on the caller's goroutine, under the
// generation current now; the writer only appends the chain fields.
func (d *Device) encode(typ string, e *Entry) ([]byte, error) {
	gk := d.cur.Load()
	ph, _ := d.hashers.Get().(*poolHasher)
	if ph == nil || ph.gen != gk.gen {
		ph = &poolHasher{gen: gk.gen, h: newHasher(gk.key)}
	}
	body, err := entryBody(typ, e, ph.h, gk.gen)
	d.hashers.Put(ph)
	return body, err
}

// publishGen makes the writer's generation the one callers encode with.
func (d *Device) publishGen() {
	if cur := d.cur.Load(); cur != nil && cur.gen == d.chain.Gen {
		return
	}
	d.cur.Store(&genKey{gen: d.chain.Gen, key: deriveKey(d.opts.RootKey, d.chain.Gen)})
}

// control runs f on the writer goroutine and waits for it, at most
// Options.Wait.
func (d *Device) control(f func() error) error {
	res := make(chan error, 1)
	t := time.NewTimer(d.opts.Wait)
	defer t.Stop()
	select {
	case d.ctl <- func() { res <- f() }:
	case <-d.done:
		return ErrClosed
	case <-t.C:
		return fmt.Errorf("%w (%s): writer busy", ErrTimeout, d.opts.Wait)
	}
	select {
	case err := <-res:
		return err
	case <-t.C:
		return fmt.Errorf("%w (%s): writer busy", ErrTimeout, d.opts.Wait)
	}
}
