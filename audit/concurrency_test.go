package audit_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
)

// stalledSyncWriter is a syncWriter whose syncs block until released;
// each sync reports on entered when it starts.
type stalledSyncWriter struct {
	syncWriter
	entered chan struct{}
	release chan struct{}
}

func (w *stalledSyncWriter) Sync() error {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return w.syncWriter.Sync()
}

// TestBatchSyncDoesNotStallWrites: with fsync batch, the sync runs on its
// own while entries go on being written; once it returns, everything
// written before it started is synced.
func TestBatchSyncDoesNotStallWrites(t *testing.T) {
	k := newKeys(t)
	w := &stalledSyncWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	o := k.opts().Options
	o.Fsync, o.Wait = audit.FsyncBatch, 5*time.Second
	d, err := audit.NewWriterDevice(w, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(t.Context(), sampleEntry(0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no batch sync within 5 s")
	}
	writtenAtSync, _, _ := w.state()
	for i := 1; i <= 5; i++ {
		start := time.Now()
		if err := d.LogRequest(t.Context(), sampleEntry(i)); err != nil {
			t.Fatalf("entry %d during the sync: %v", i, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("entry %d waited %s for the sync", i, took)
		}
	}
	close(w.release)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, synced, _ := w.state(); synced >= writtenAtSync {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch sync never completed")
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	written, synced, _ := w.state()
	if synced != written {
		t.Fatalf("close left %d bytes unsynced", written-synced)
	}
	rep, err := audit.VerifySources(k.pub, audit.VerifyOptions{}, audit.Source{Name: "w", R: &w.buf})
	if err != nil || !rep.OK || rep.Entries != 6 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestReopenUnderLoad: rotations while callers write keep one chain
// across the files, every entry recorded exactly once.
func TestReopenUnderLoad(t *testing.T) {
	const writers, each, rotations = 4, 150, 3
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	o.CheckpointEvery, o.RatchetEvery = 37, 50
	d := openFile(t, path, o)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				if err := d.LogResponse(context.Background(), sampleEntry(g*each+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var files []string
	for r := range rotations {
		// Rotate while the writers are at it: after some more entries.
		for deadline := time.Now().Add(5 * time.Second); d.Position().Seq < uint64(r+1)*100; time.Sleep(100 * time.Microsecond) {
			if time.Now().After(deadline) {
				t.Fatalf("writers stuck at seq %d", d.Position().Seq)
			}
		}
		rotated := fmt.Sprintf("%s.%d", path, r+1)
		if err := os.Rename(path, rotated); err != nil {
			t.Fatal(err)
		}
		if err := d.Reopen(); err != nil {
			t.Fatalf("reopen %d: %v", r+1, err)
		}
		files = append(files, rotated)
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, k.pub, append(files, path)...)
	if rep.Entries != writers*each {
		t.Fatalf("%d entries across the files, want %d", rep.Entries, writers*each)
	}
}
