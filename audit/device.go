package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Errors of a device.
var (
	// ErrTimeout: the entry waited Options.Wait behind a write in
	// progress (or, with fsync always, a sync) without being written. The
	// entry may still be written later.
	ErrTimeout = errors.New("audit: device did not record the entry within the bounded wait")
	// ErrClosed: the device is closed.
	ErrClosed = errors.New("audit: device closed")
	// ErrTornTail: an existing log ends in the middle of a line.
	ErrTornTail = errors.New("audit: log ends mid-line")
	// ErrReservation: seqs could not be reserved through
	// Options.Reserve. At open, Reserve failed (the open fails); while
	// writing, a line's seq would reach the reserved bound before an
	// extension completed (the batch is not written and the chain
	// position is kept; a later batch succeeds once an extension does).
	ErrReservation = errors.New("audit: no seq reservation")
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
	// (default 1,024); every start begins generation seq0 (see the
	// package doc).
	RatchetEvery int
	// CheckpointEvery is K: an interval checkpoint after every K entries
	// (default 1,000), besides the open, rotate and close checkpoints.
	CheckpointEvery int
	// Wait bounds how long a call waits behind another's write (default
	// 2 s); a call writing the batch itself is bounded by the writer (a
	// file write, a socket write deadline, the sync with FsyncAlways).
	Wait time.Duration
	// Fsync is the sync mode (default FsyncBatch); it applies when the
	// writer has a Sync() error method (an *os.File has).
	Fsync FsyncMode
	// Resume continues a chain whose log holds no line yet (a fresh file
	// after a rotation while the server was down); ignored when the log
	// has lines, whose last line wins.
	Resume *Position
	// Floor is the lowest seq the device may write next: the server
	// passes the replicated reservation (see Reserve). The open
	// checkpoint of a start has seq max(last seq + 1, Floor, 1).
	Floor uint64
	// Reserve, when set, makes seqs unique across nodes and failovers:
	// once Reserve(ctx, upTo) returns nil, the server has persisted upTo
	// (through raft) and promises that no device on any node starts
	// below it (it passes it on as Floor). A device calls it at start,
	// synchronously, for seq0+ReserveBlock (an error fails the open), and
	// while writing extends the bound by ReserveBlock, one call at a
	// time, in the background, when the next seq reaches half a block
	// below it. No line is ever written at a seq >= the bound; entries
	// and non-closing checkpoints also leave the seq just below it free
	// for a closing checkpoint. A line that does not fit fails its batch
	// with ErrReservation. Reserve gets a ctx bounded by Wait and must
	// return when it is done. Nil: no reservation.
	Reserve func(ctx context.Context, upTo uint64) error
	// ReserveBlock is how many seqs Reserve reserves at a time (default
	// 65,536; at least 4).
	ReserveBlock uint64
	// Prefix is written before every line, as Vault's file device
	// prefix; the line hash and checkpoint signatures cover it. It must
	// not contain a newline.
	Prefix string
	// PlainAccessor writes the token accessor in the clear (Vault's
	// hmac_accessor=false); by default it is HMAC'd.
	PlainAccessor bool
	// LogRaw HMACs nothing (Vault's log_raw): client token, accessor and
	// request and response data are written in the clear.
	LogRaw bool
}

// DefaultOptions returns the defaults; the caller sets the keys.
func DefaultOptions() Options {
	return Options{RatchetEvery: 1024, CheckpointEvery: 1000, Wait: 2 * time.Second, Fsync: FsyncBatch,
		ReserveBlock: DefaultReserveBlock}
}

// DefaultReserveBlock is the default Options.ReserveBlock.
const DefaultReserveBlock = 65536

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
	if o.ReserveBlock == 0 {
		o.ReserveBlock = d.ReserveBlock
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
	case o.ReserveBlock != 0 && o.ReserveBlock < 4:
		return bad("reserve_block must be at least 4")
	case strings.ContainsAny(o.Prefix, "\n\r"):
		return bad("prefix must not contain a line break")
	case o.Resume != nil && o.Resume.PrevHash != "" && !isHashHex(o.Resume.PrevHash):
		return bad("resume prev_hash must be 64 lowercase hex digits")
	}
	switch o.Fsync {
	case FsyncBatch, FsyncAlways, FsyncNever:
		return nil
	}
	return bad("fsync must be batch, always or never, not %q", o.Fsync)
}

// genKey is a published HMAC key generation, with the encoders callers
// reuse while it is current.
type genKey struct {
	gen  uint64
	key  []byte
	pool sync.Pool // of *entryEncoder
}

// Device is an audit device: a Broker that writes a hash-chained log by
// group commit (see group.go): a caller that finds the device idle
// writes its own line, callers that arrive meanwhile share the next
// write. Its methods are safe for concurrent use.
type Device struct {
	opts      Options
	enc       encoding
	pub       ed25519.PublicKey
	keyID     string
	closeOnce sync.Once
	done      chan struct{} // closed when shutdown is over
	// ctx bounds background reservations; cancelled at shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	// crashed makes shutdown stop without writing (tests: a crash).
	crashed atomic.Bool

	// mu guards the group commit state and pos.
	mu       sync.Mutex
	pos      chainPos // the last line written, for Position()
	queue    []*item  // waiting for the writer role, in order
	busy     bool     // the writer role is held
	closed   bool     // Close was called
	inflight []*item  // the entries of the write in progress
	// watch is the watchdog of queued entries (see expire), armed when
	// watchArmed.
	watch      *time.Timer
	watchArmed bool
	// spinners counts the queued callers polling for their answer, at
	// most maxSpinners.
	spinners    atomic.Int32
	maxSpinners int32

	// tail keeps the recent lines while someone tails the device.
	tail tailRing

	// cur is the generation callers encode with; the writer moves it.
	cur   atomic.Pointer[genKey]
	items sync.Pool // of *item

	// Writer state, owned by the holder of the writer role.
	w         io.Writer
	reopen    func() (io.Writer, error)
	closeW    func() error
	chain     chainState
	resv      reservation
	broken    error
	out       []byte  // the lines of one write
	batch     []*item // the entries of one write
	syncTimer *time.Timer
	finished  bool // shut down: nothing more is written
	closeErr  error

	// The batch sync (FsyncBatch) runs on its timer, outside the writer
	// role, while writes go on. syncMu is held by a batch sync in flight
	// and by whoever replaces or closes w; it guards logClosed.
	syncMu     sync.Mutex
	logClosed  bool
	syncArmed  atomic.Bool           // a batch sync is due
	syncFailed atomic.Pointer[error] // a failed batch sync, for the next batch
}

var _ Broker = (*Device)(nil)

// chainPos is a Position with its hash kept as bytes (a line costs no
// allocation).
type chainPos struct {
	Seq, Gen uint64
	prev     hashHex
}

// position returns p as a Position.
func (p *chainPos) position() Position {
	return Position{Seq: p.Seq, PrevHash: string(p.prev[:]), Gen: p.Gen}
}

// chainState is the writer's position plus its counters.
type chainState struct {
	chainPos
	next     uint64 // seq of the next line
	genCount uint64 // entries written under Gen
	sinceCP  uint64 // entries since the last checkpoint
	// needOpen: the current file's open checkpoint is still to write.
	needOpen bool
}

// NewWriterDevice starts a device writing to w (stdout, a socket, a test
// writer) with its chain continuing from opts.Resume (a new chain when
// nil), its first line an open checkpoint. The device never closes w.
func NewWriterDevice(w io.Writer, opts Options) (*Device, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	start := Position{PrevHash: ZeroHash}
	if opts.Resume != nil {
		start = *opts.Resume
	}
	return startDevice(w, opts, start, nil, nil)
}

// startDevice reserves seqs and starts the device holding the writer
// role for its open checkpoint, written in the background before any
// entry. start is the last line written; the
// open checkpoint has seq0 = max(start.Seq+1, Floor, 1) and begins key
// generation seq0.
func startDevice(w io.Writer, opts Options, start Position, reopen func() (io.Writer, error), closeW func() error) (*Device, error) {
	if start.PrevHash == "" {
		start.PrevHash = ZeroHash
	}
	seq0 := max(start.Seq+1, opts.Floor, 1)
	resv, err := reserveStart(opts, seq0)
	if err != nil {
		return nil, err
	}
	pub := opts.SigningKey.Public().(ed25519.PublicKey)
	d := &Device{
		opts: opts, enc: encoding{plainAccessor: opts.PlainAccessor, raw: opts.LogRaw},
		pub: pub, keyID: KeyID(pub),
		done: make(chan struct{}),
		w:    w, reopen: reopen, closeW: closeW, resv: resv,
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.chain = chainState{chainPos: chainPos{Seq: start.Seq, Gen: seq0}, next: seq0, needOpen: true}
	copy(d.chain.prev[:], start.PrevHash)
	d.publishGen()
	d.pos = chainPos{Seq: start.Seq, Gen: start.Gen, prev: d.chain.prev}
	d.maxSpinners = int32(runtime.GOMAXPROCS(0) - 1)
	d.busy = true // the open checkpoint is written first
	go d.writeOpen()
	return d, nil
}

// Generation returns the HMAC key generation entries are encoded with
// now (see Hash).
func (d *Device) Generation() uint64 { return d.cur.Load().gen }

// PublicKey returns the key that verifies the device's checkpoints.
func (d *Device) PublicKey() ed25519.PublicKey { return d.pub }

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
	return d.pos.position()
}

// Close writes what is queued and a close checkpoint, syncs and closes
// the log; calls after Close fail with ErrClosed. It waits at most
// Options.Wait for the writer (a blocked writer makes it fail with
// ErrTimeout; the writer then finishes on its own if it unblocks). Close
// is idempotent.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		go d.shutdown()
	})
	t := time.NewTimer(d.opts.Wait)
	defer t.Stop()
	select {
	case <-d.done:
		return d.closeErr
	case <-t.C:
		d.cancel()
		return fmt.Errorf("%w (%s): close", ErrTimeout, d.opts.Wait)
	}
}

// encode HMACs and encodes e on the caller's goroutine, under the
// generation current now; the writer only appends the chain fields.
func (d *Device) encode(dst []byte, typ string, e *Entry) ([]byte, error) {
	gk := d.cur.Load()
	x, _ := gk.pool.Get().(*entryEncoder)
	if x == nil {
		x = newEntryEncoder(gk.gen, gk.key, d.enc)
	}
	body, err := x.appendEntry(dst, typ, e)
	x.release()
	gk.pool.Put(x)
	return body, err
}

// publishGen makes the writer's generation the one callers encode with.
func (d *Device) publishGen() {
	if cur := d.cur.Load(); cur != nil && cur.gen == d.chain.Gen {
		return
	}
	d.cur.Store(&genKey{gen: d.chain.Gen, key: deriveKey(d.opts.RootKey, d.chain.Gen)})
}
