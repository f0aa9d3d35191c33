package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"
)

// gatedWriter records writes; the writes numbered in gates (from 1) block
// until their channel is closed, and report on entered when they start.
type gatedWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	writes  int
	gates   map[int]chan struct{}
	entered chan int
	delay   time.Duration // every write takes this long (a slow disk)
}

func newGatedWriter(gated ...int) *gatedWriter {
	w := &gatedWriter{gates: map[int]chan struct{}{}, entered: make(chan int, len(gated))}
	for _, n := range gated {
		w.gates[n] = make(chan struct{})
	}
	return w
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	gate := w.gates[w.writes]
	if gate != nil {
		w.entered <- w.writes
	}
	w.mu.Unlock()
	if gate != nil {
		<-gate
	}
	time.Sleep(w.delay)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// open releases gated write n.
func (w *gatedWriter) open(n int) { close(w.gates[n]) }

// waitEntered waits until gated write n has started.
func (w *gatedWriter) waitEntered(t *testing.T, n int) {
	t.Helper()
	select {
	case got := <-w.entered:
		if got != n {
			t.Fatalf("gated write %d started, want %d", got, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("gated write %d never started", n)
	}
}

func (w *gatedWriter) stats() (writes int, log []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, bytes.Clone(w.buf.Bytes())
}

// queued is how many items wait for the writer role.
func (d *Device) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue)
}

// waitQueued polls until n items are queued (bounded).
func waitQueued(t *testing.T, d *Device, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); d.queued() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d items queued, want %d", d.queued(), n)
		}
	}
}

// logAsync logs n entries from n goroutines; their errors arrive on the
// returned channel.
func logAsync(d *Device, n int) <-chan error {
	res := make(chan error, n)
	for i := range n {
		go func() { res <- logOne(d, i) }()
	}
	return res
}

// collect receives n results (bounded).
func collect(t *testing.T, res <-chan error, n int) []error {
	t.Helper()
	var errs []error
	for range n {
		select {
		case err := <-res:
			errs = append(errs, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d calls returned", len(errs), n)
		}
	}
	return errs
}

func verifyBuf(t *testing.T, pub ed25519.PublicKey, log []byte, entries int) {
	t.Helper()
	rep, err := VerifySources(pub, VerifyOptions{}, Source{Name: "log", R: bytes.NewReader(log)})
	if err != nil || !rep.OK || rep.Entries != entries {
		t.Fatalf("verify: %+v %v, want %d entries", rep, err, entries)
	}
}

// TestGroupCommitSharesOneWrite: entries queued behind a write in
// progress are written together, in one write, by the first of them.
func TestGroupCommitSharesOneWrite(t *testing.T) {
	const n = 20
	o, pub := internalOpts(t)
	w := newGatedWriter(1) // the open checkpoint
	d, err := NewWriterDevice(w, o.Options)
	if err != nil {
		t.Fatal(err)
	}
	w.waitEntered(t, 1)
	res := logAsync(d, n)
	waitQueued(t, d, n)
	w.open(1)
	for i, err := range collect(t, res, n) {
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if writes, _ := w.stats(); writes != 2 {
		t.Fatalf("%d writes for the open checkpoint and %d queued entries, want 2", writes, n)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, log := w.stats()
	verifyBuf(t, pub, log, n)
}

// TestWatchdogBoundsEveryWait: with the writer blocked, queued entries
// and entries in the blocked write fail with ErrTimeout after Wait; the
// caller writing stays until its write returns; the entries written late
// are in the log, and the device goes on.
func TestWatchdogBoundsEveryWait(t *testing.T) {
	const n = 5
	o, pub := internalOpts(t)
	o.Wait = 300 * time.Millisecond
	w := newGatedWriter(1, 2)
	d, err := NewWriterDevice(w, o.Options)
	if err != nil {
		t.Fatal(err)
	}
	w.waitEntered(t, 1)

	// Queued behind the open checkpoint, which blocks: all time out.
	start := time.Now()
	for i, err := range collect(t, logAsync(d, n), n) {
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("queued entry %d: %v, want ErrTimeout", i, err)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("queued entries waited %s with a %s wait", took, o.Wait)
	}
	if got := d.queued(); got != 0 {
		t.Fatalf("%d timed-out entries left queued", got)
	}

	// Queued, then taken into a write that blocks: the writing caller
	// waits for its write, the others time out.
	res := logAsync(d, n)
	waitQueued(t, d, n)
	w.open(1)
	w.waitEntered(t, 2)
	for i, err := range collect(t, res, n-1) {
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("entry %d in the blocked write: %v, want ErrTimeout", i, err)
		}
	}
	w.open(2)
	if errs := collect(t, res, 1); errs[0] != nil {
		t.Fatalf("the writing caller: %v", errs[0])
	}
	if err := logOne(d, 99); err != nil {
		t.Fatalf("after the writer unblocked: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, log := w.stats()
	verifyBuf(t, pub, log, n+1) // the timed-out batch was written, and the last entry
}

// TestCloseWritesQueuedEntries: Close waits for the entries queued
// before it, writes them, then the close checkpoint; later calls fail
// with ErrClosed.
func TestCloseWritesQueuedEntries(t *testing.T) {
	const n = 10
	o, pub := internalOpts(t)
	w := newGatedWriter(1)
	d, err := NewWriterDevice(w, o.Options)
	if err != nil {
		t.Fatal(err)
	}
	w.waitEntered(t, 1)
	res := logAsync(d, n)
	waitQueued(t, d, n)
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	waitQueued(t, d, n+1) // the shutdown, behind the entries
	if err := logOne(d, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("entry after Close: %v", err)
	}
	w.open(1)
	for i, err := range collect(t, res, n) {
		if err != nil {
			t.Fatalf("entry %d queued before Close: %v", i, err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	_, log := w.stats()
	verifyBuf(t, pub, log, n)
}

// TestGroupCommitStress: callers giving up at random moments (their
// context, a short Wait) never hang the device, never break its chain,
// and never lose an entry they were told was recorded.
func TestGroupCommitStress(t *testing.T) {
	o, pub := internalOpts(t)
	o.Wait = 500 * time.Microsecond
	w := &gatedWriter{gates: map[int]chan struct{}{}, delay: 100 * time.Microsecond}
	d, err := NewWriterDevice(w, o.Options)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	recorded, timeouts, gone := 0, 0, 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration((g*300+i)%7)*50*time.Microsecond)
				err := d.LogRequest(ctx, &Entry{Time: time.Unix(int64(i), 0), RequestID: "r"})
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					recorded++
				case errors.Is(err, ErrTimeout):
					timeouts++
				case errors.Is(err, context.DeadlineExceeded):
					gone++
				default:
					t.Errorf("unexpected error %v", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d recorded, %d timed out, %d gave up", recorded, timeouts, gone)
	if err := d.LogRequest(context.Background(), &Entry{RequestID: "last"}); err != nil {
		t.Fatalf("after the storm: %v", err)
	}
	// Close may give up waiting within so short a Wait; the shutdown
	// finishes on its own.
	if err := d.Close(); err != nil && !errors.Is(err, ErrTimeout) {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	if d.closeErr != nil {
		t.Fatalf("shutdown: %v", d.closeErr)
	}
	_, log := w.stats()
	rep, err := VerifySources(pub, VerifyOptions{}, Source{Name: "log", R: bytes.NewReader(log)})
	if err != nil || !rep.OK || rep.Entries < recorded+1 {
		t.Fatalf("verify: %+v %v; %d entries recorded", rep, err, recorded+1)
	}
}
