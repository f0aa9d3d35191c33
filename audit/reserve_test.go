package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// cluster stands in for the replicated reservation of a cluster: the
// highest upTo any device reserved, shared by every node.
type cluster struct {
	mu       sync.Mutex
	reserved uint64
	calls    []uint64
	// gate, when set, blocks every call after the first until closed
	// or until ctx is done.
	gate chan struct{}
	// fail, when set, fails every call after the first.
	fail                error
	inflight, maxFlight int
}

func (c *cluster) Reserve(ctx context.Context, upTo uint64) error {
	c.mu.Lock()
	c.calls = append(c.calls, upTo)
	first := len(c.calls) == 1
	c.inflight++
	c.maxFlight = max(c.maxFlight, c.inflight)
	gate, fail := c.gate, c.fail
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight--
		c.mu.Unlock()
	}()
	if !first && gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !first && fail != nil {
		return fail
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reserved = max(c.reserved, upTo)
	return nil
}

// waitCalls waits until Reserve was called n times (bounded).
func (c *cluster) waitCalls(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if calls, _ := c.stats(); len(calls) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Reserve not called %d times", n)
		}
	}
}

// floor is what the server passes a starting device.
func (c *cluster) floor() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reserved
}

func (c *cluster) stats() (calls []uint64, maxFlight int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.calls...), c.maxFlight
}

// TestTwoNodesAlternating: two nodes, each with its own file, take turns
// as leader; the shared reservation keeps every seq and every key
// generation unique across both files, and each file verifies alone.
func TestTwoNodesAlternating(t *testing.T) {
	k := newKeys(t)
	dir := t.TempDir()
	c := &cluster{}
	files := []string{filepath.Join(dir, "node-a.log"), filepath.Join(dir, "node-b.log")}
	for term, n := range []int{5, 40, 12, 3, 30, 7} {
		o := k.opts()
		o.Reserve, o.ReserveBlock, o.RatchetEvery, o.CheckpointEvery = c.Reserve, 64, 4, 10
		o.Floor = c.floor()
		d := openFile(t, files[term%2], o)
		logN(t, d, n)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	seqs := map[float64]string{}
	genRun := map[float64]string{} // generation -> the run that used it
	for i, f := range files {
		// node a starts the chain at seq 1, node b above a's
		// reservation: one more gap.
		rep := mustVerify(t, k.pub, f)
		if rep.Segments != 3 || rep.Gaps != 2+i || rep.UncleanStops != 0 {
			t.Fatalf("%s: %+v", f, rep)
		}
		runID := ""
		for i, l := range readLines(t, f) {
			m := decode(t, l)
			if m["reason"] == "open" {
				runID = fmt.Sprintf("%s:%d", filepath.Base(f), i+1)
			}
			seq, gen := m["seq"].(float64), m["hmac_key_gen"].(float64)
			if other, dup := seqs[seq]; dup {
				t.Fatalf("seq %v in %s and %s", seq, other, f)
			}
			seqs[seq] = f
			if other, used := genRun[gen]; used && other != runID {
				t.Fatalf("generation %v used by runs %s and %s", gen, other, runID)
			}
			genRun[gen] = runID
		}
	}
	if calls, maxFlight := c.stats(); len(calls) < 6 || maxFlight != 1 {
		t.Fatalf("reserve calls %v, at most %d in flight", calls, maxFlight)
	}
}

// reservedDevice opens a device on a fresh file with a block of 8 and
// logs entries one by one until the first refusal (at most 20).
func reservedDevice(t *testing.T, c *cluster) (*audit.FileDevice, string, int) {
	t.Helper()
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	o.Reserve, o.ReserveBlock = c.Reserve, 8
	d := openFile(t, path, o)
	for i := range 20 {
		err := d.LogRequest(t.Context(), sampleEntry(i))
		if err == nil {
			continue
		}
		if !errors.Is(err, audit.ErrReservation) {
			t.Fatalf("entry %d: %v", i, err)
		}
		return d, path, i
	}
	t.Fatal("the reservation bound never refused an entry")
	return nil, "", 0
}

// TestReservationBound: with seqs 1..8 reserved (block 8) the entries
// stop at seq 7, leaving seq 8 for the close checkpoint; one extension
// is in flight at a time, and once it succeeds writing resumes.
func TestReservationBound(t *testing.T) {
	tests := []struct {
		name    string
		fail    error
		release bool // the extension succeeds after the refusal
	}{
		{"extension pending", nil, true},
		{"extension fails", errors.New("no raft quorum"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cluster{gate: make(chan struct{}), fail: tt.fail}
			if tt.fail != nil {
				close(c.gate)
			}
			d, path, refused := reservedDevice(t, c)
			if refused != 6 { // open 1, entries 2..7
				t.Fatalf("refused entry %d, want the 7th (seq 8)", refused)
			}
			if p := d.Position(); p.Seq != 7 {
				t.Fatalf("position %+v after the refusal, want seq 7", p)
			}
			c.waitCalls(t, 2) // the extension started at seq 5 (bound 9 - 8/2)
			for i := range 3 {
				if err := d.LogRequest(t.Context(), sampleEntry(i)); !errors.Is(err, audit.ErrReservation) {
					t.Fatalf("entry past the bound: %v", err)
				}
			}
			calls, maxFlight := c.stats()
			if calls[0] != 9 || calls[1] != 17 || maxFlight != 1 || tt.fail == nil && len(calls) != 2 {
				t.Fatalf("reserve calls %v, at most %d in flight", calls, maxFlight)
			}
			if tt.release {
				close(c.gate)
				retryUntilWritten(t, d)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			rep := mustVerify(t, nil, path)
			if want := uint64(8 + map[bool]uint64{true: 1}[tt.release]); rep.LastSeq != want { // close at 8, or entry 8 and close 9
				t.Fatalf("last seq %d, want %d", rep.LastSeq, want)
			}
		})
	}
}

// retryUntilWritten logs an entry until the device takes it (bounded).
func retryUntilWritten(t *testing.T, d *audit.FileDevice) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := d.LogRequest(t.Context(), sampleEntry(99))
		if err == nil {
			return
		}
		if !errors.Is(err, audit.ErrReservation) || time.Now().After(deadline) {
			t.Fatalf("after the extension: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReserveAtOpen: the first reservation is synchronous; its failure
// fails the open (and writes nothing), bounded by Wait.
func TestReserveAtOpen(t *testing.T) {
	k := newKeys(t)
	never := make(chan struct{})
	defer close(never)
	tests := []struct {
		name    string
		reserve func(context.Context, uint64) error
		want    error
	}{
		{"fails", func(context.Context, uint64) error { return errors.New("not the leader") }, audit.ErrReservation},
		{"blocks until ctx", func(ctx context.Context, _ uint64) error { <-ctx.Done(); return ctx.Err() }, context.DeadlineExceeded},
		{"ignores ctx", func(context.Context, uint64) error { <-never; return nil }, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempLog(t)
			o := k.opts()
			o.Reserve, o.Wait = tt.reserve, 50*time.Millisecond
			start := time.Now()
			d, err := audit.OpenFile(path, o)
			if err == nil {
				d.Close()
				t.Fatal("open succeeded")
			}
			if !errors.Is(err, audit.ErrReservation) || !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Fatalf("open took %s with a 50ms wait", el)
			}
			if b, err := os.ReadFile(path); err != nil || len(b) != 0 {
				t.Fatalf("log after a failed open: %d bytes, %v", len(b), err)
			}
		})
	}
}

// TestCloseWithExtensionInFlight: Close does not wait for a pending
// extension.
func TestCloseWithExtensionInFlight(t *testing.T) {
	c := &cluster{gate: make(chan struct{})}
	defer close(c.gate)
	d, path, _ := reservedDevice(t, c)
	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a pending extension")
	}
	mustVerify(t, nil, path)
}
