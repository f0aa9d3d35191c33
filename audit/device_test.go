package audit_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func mustVerify(t *testing.T, pub []byte, paths ...string) audit.Report {
	t.Helper()
	rep, err := audit.Verify(pub, paths...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify: %+v", *rep.Problem)
	}
	return rep
}

func TestRatchet(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	o.RatchetEvery = 4
	d := openFile(t, path, o)
	logN(t, d, 10)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openFile(t, path, o) // restart: a new generation, the open checkpoint's seq
	logN(t, d, 1)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	var gens []float64
	for _, l := range readLines(t, path) {
		m := decode(t, l)
		if m["type"] == "checkpoint" {
			continue
		}
		gen := m["hmac_key_gen"].(float64)
		gens = append(gens, gen)
		want, err := audit.Hash(k.root, uint64(gen), "SENTINEL-PW")
		if err != nil {
			t.Fatal(err)
		}
		if got := get(m, "request", "data", "password"); got != want {
			t.Fatalf("seq %v: password HMAC does not verify under its generation", m["seq"])
		}
		other, _ := audit.Hash(k.root, uint64(gen)+1, "SENTINEL-PW")
		if get(m, "request", "data", "password") == other {
			t.Fatal("generations share a key")
		}
	}
	// open(seq 1, gen 1), 10 entries (seq 2..11), close(12) | open(13)
	want := []float64{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 13}
	if len(gens) != len(want) {
		t.Fatalf("gens %v, want %v", gens, want)
	}
	for i := range want {
		if gens[i] != want[i] {
			t.Fatalf("gens %v, want %v", gens, want)
		}
	}
	mustVerify(t, k.pub, path)
}

func TestChainAcrossReopenAndRotation(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	d := openFile(t, path, o)
	logN(t, d, 3)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openFile(t, path, o) // restart: seq continues after the close checkpoint
	logN(t, d, 3)
	if p := d.Position(); p.Seq != 9 {
		t.Fatalf("position after restart and 3 entries %+v, want seq 9 (open 6, entries 7..9)", p)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	logN(t, d, 1) // still into the renamed file
	if err := d.Reopen(); err != nil {
		t.Fatal(err)
	}
	logN(t, d, 2)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, k.pub, path+".1", path)
	// open + 3 + close | open + 3 + 1 + rotate || open + 2 + close
	if rep.Entries != 9 || rep.Checkpoints != 6 || rep.LastSeq != 15 || rep.Segments != 3 || rep.Gaps != 0 {
		t.Fatalf("got %+v", rep)
	}
	first := decode(t, readLines(t, path)[0])
	if first["seq"] != 12.0 || first["reason"] != "open" {
		t.Fatalf("new file starts with seq %v reason %v, want an open checkpoint at 12", first["seq"], first["reason"])
	}
	if last := readLines(t, path+".1"); decode(t, last[len(last)-1])["reason"] != "rotate" {
		t.Fatal("rotated file does not end with a rotate checkpoint")
	}
	tests := []struct {
		name   string
		paths  []string
		reason audit.Reason
	}{
		{"current file alone", []string{path}, audit.ReasonDropped},
		{"files in the wrong order", []string{path, path + ".1"}, audit.ReasonDropped},
		{"old file alone", []string{path + ".1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := audit.Verify(k.pub, tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reason == "" {
				if !rep.OK {
					t.Fatalf("got %+v", rep.Problem)
				}
				return
			}
			if rep.OK || rep.Problem.Reason != tt.reason {
				t.Fatalf("got %+v", rep)
			}
		})
	}
	rep, err := audit.VerifySources(k.pub, audit.VerifyOptions{AllowPartialHead: true}, source(t, path))
	if err != nil || !rep.OK || rep.FirstSeq != 12 {
		t.Fatalf("partial head: %+v %v", rep, err)
	}
}

func source(t *testing.T, path string) audit.Source {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return audit.Source{Name: path, R: bytes.NewReader(b)}
}

func TestOpenFile(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name    string
		content string
		mutate  func(*audit.FileOptions)
		want    error
	}{
		{name: "torn tail", content: `{"type":"request","seq":1`, want: audit.ErrTornTail},
		{name: "not an audit log", content: "hello\n", want: nil},
		{name: "short root key", mutate: func(o *audit.FileOptions) { o.RootKey = o.RootKey[:16] }, want: logical.ErrInvalidRequest},
		{name: "no signing key", mutate: func(o *audit.FileOptions) { o.SigningKey = nil }, want: logical.ErrInvalidRequest},
		{name: "bad fsync", mutate: func(o *audit.FileOptions) { o.Fsync = "sometimes" }, want: logical.ErrInvalidRequest},
		{name: "negative wait", mutate: func(o *audit.FileOptions) { o.Wait = -1 }, want: logical.ErrInvalidRequest},
		{name: "prefix with a newline", mutate: func(o *audit.FileOptions) { o.Prefix = "a\nb" }, want: logical.ErrInvalidRequest},
		{name: "tiny reserve block", mutate: func(o *audit.FileOptions) { o.ReserveBlock = 3 }, want: logical.ErrInvalidRequest},
		{name: "resume hash not a line hash", mutate: func(o *audit.FileOptions) { o.Resume = &audit.Position{Seq: 3, PrevHash: "abc"} }, want: logical.ErrInvalidRequest},
		{name: "prefix not in the log", content: `{"type":"request","seq":1}` + "\n", mutate: func(o *audit.FileOptions) { o.Prefix = "p: " }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempLog(t)
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			o := k.opts()
			if tt.mutate != nil {
				tt.mutate(&o)
			}
			d, err := audit.OpenFile(path, o)
			if err == nil {
				d.Close()
				t.Fatal("OpenFile accepted it")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	k := newKeys(t)
	for _, tt := range []struct {
		name string
		mode os.FileMode
		want os.FileMode
	}{{"default", 0, 0o600}, {"explicit", 0o640, 0o640}} {
		t.Run(tt.name, func(t *testing.T) {
			path := tempLog(t)
			o := k.opts()
			o.Mode = tt.mode
			d := openFile(t, path, o)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm() &^ 0o022; got != tt.want&^0o022 {
				t.Fatalf("mode %o, want %o", got, tt.want)
			}
		})
	}
}

// syncWriter records writes and syncs.
type syncWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	syncs  int
	synced int // bytes covered by the last sync
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncs++
	w.synced = w.buf.Len()
	return nil
}

func (w *syncWriter) state() (written, synced, syncs int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Len(), w.synced, w.syncs
}

func TestFsyncModes(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		mode audit.FsyncMode
		// syncedOnReturn: every byte written is synced when the call returns.
		syncedOnReturn bool
		// syncsAtClose: whether Close syncs.
		syncsAtClose bool
	}{
		{audit.FsyncAlways, true, true},
		{audit.FsyncBatch, false, true},
		{audit.FsyncNever, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			w := &syncWriter{}
			o := k.opts().Options
			o.Fsync = tt.mode
			d, err := audit.NewWriterDevice(w, o)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				before, _, _ := w.state()
				if err := d.LogRequest(t.Context(), sampleEntry(i)); err != nil {
					t.Fatal(err)
				}
				written, synced, _ := w.state()
				if written <= before {
					t.Fatalf("entry %d not written when the call returned", i)
				}
				if tt.syncedOnReturn && synced != written {
					t.Fatalf("entry %d not synced when the call returned", i)
				}
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			written, synced, syncs := w.state()
			if tt.syncsAtClose && synced != written {
				t.Fatalf("close left %d bytes unsynced", written-synced)
			}
			if !tt.syncsAtClose && syncs != 0 {
				t.Fatalf("fsync never synced %d times", syncs)
			}
			rep, err := audit.VerifySources(k.pub, audit.VerifyOptions{}, audit.Source{Name: "w", R: &w.buf})
			if err != nil || !rep.OK || rep.Entries != 5 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	release chan struct{}
	syncWriter
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.syncWriter.Write(p)
}

func TestBoundedWait(t *testing.T) {
	k := newKeys(t)
	w := &blockingWriter{release: make(chan struct{})}
	o := k.opts().Options
	o.Wait = 20 * time.Millisecond
	d, err := audit.NewWriterDevice(w, o)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"writer blocked", func() (context.Context, context.CancelFunc) { return context.WithCancel(t.Context()) }, audit.ErrTimeout},
		{"caller gone", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			if err := d.LogRequest(ctx, sampleEntry(0)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	close(w.release)
	if err := d.LogRequest(t.Context(), sampleEntry(1)); err != nil {
		t.Fatalf("device did not recover: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(t.Context(), sampleEntry(2)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// failingWriter fails every write.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) { return w.n, errors.New("disk full") }

func TestWriteFailure(t *testing.T) {
	k := newKeys(t)
	for _, tt := range []struct {
		name    string
		partial int
	}{{"nothing written", 0}, {"torn write", 3}} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := audit.NewWriterDevice(&failingWriter{n: tt.partial}, k.opts().Options)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := d.LogRequest(t.Context(), sampleEntry(i)); err == nil {
					t.Fatal("a failed write was reported as recorded")
				}
			}
			if p := d.Position(); p.Seq != 0 {
				t.Fatalf("position advanced past a failed write: %+v", p)
			}
			_ = d.Close()
		})
	}
}

func TestConcurrentLogging(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	o.CheckpointEvery, o.RatchetEvery = 50, 64
	d := openFile(t, path, o)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				e := sampleEntry(g*1000 + i)
				var err error
				if i%2 == 0 {
					err = d.LogRequest(context.Background(), e)
				} else {
					err = d.LogResponse(context.Background(), e)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, k.pub, path)
	if rep.Entries != 800 || rep.Checkpoints != 18 { // open, 16 interval, close
		t.Fatalf("got %+v", rep)
	}
	// Every line verifies under the generation it names, and the
	// generations ratcheted.
	gens := map[float64]bool{}
	for _, l := range readLines(t, path) {
		m := decode(t, l)
		if m["type"] == "checkpoint" {
			continue
		}
		gen := m["hmac_key_gen"].(float64)
		gens[gen] = true
		want, _ := audit.Hash(k.root, uint64(gen), "SENTINEL-PW")
		if get(m, "request", "data", "password") != want {
			t.Fatalf("seq %v does not verify under generation %v", m["seq"], gen)
		}
	}
	if len(gens) < 800/64 {
		t.Fatalf("only %d generations for 800 entries ratcheting every 64", len(gens))
	}
}

func TestRotationWhileDown(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	o := k.opts()
	d := openFile(t, path, o)
	logN(t, d, 2)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	pos, err := audit.ReadPosition(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		resume *audit.Position
		ok     bool
	}{
		{"resumed from the rotated file", &pos, true},
		{"not resumed: the chain restarts", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := path + "-" + map[bool]string{true: "a", false: "b"}[tt.ok]
			o := k.opts()
			o.Resume = tt.resume
			d := openFile(t, cur, o)
			logN(t, d, 2)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			rep, err := audit.Verify(k.pub, path+".1", cur)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tt.ok {
				t.Fatalf("got %+v", rep)
			}
			// The restarted chain repeats seq 1 (here byte for byte: same
			// keys, same entry, so "duplicated").
			if !tt.ok && (rep.Problem.File != cur || rep.Problem.Line != 1 || rep.Problem.Seq != 1) {
				t.Fatalf("got %+v", rep.Problem)
			}
		})
	}
}

// flakySyncWriter fails its first sync.
type flakySyncWriter struct {
	syncWriter
	failed bool
}

func (w *flakySyncWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.failed {
		w.failed = true
		return errors.New("EIO")
	}
	w.syncs++
	return nil
}

func TestBatchSyncFailureSurfaces(t *testing.T) {
	k := newKeys(t)
	w := &flakySyncWriter{}
	o := k.opts().Options
	d, err := audit.NewWriterDevice(w, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(t.Context(), sampleEntry(0)); err != nil {
		t.Fatal(err)
	}
	// The batch sync fails within BatchWindow; the next call reports it
	// (polled: the loop ends at the first failure, at most ~5 s).
	var failed bool
	for i := 1; i < 5000 && !failed; i++ {
		failed = d.LogRequest(t.Context(), sampleEntry(i)) != nil
		if !failed {
			time.Sleep(time.Millisecond)
		}
	}
	if !failed {
		t.Fatal("a failed batch sync was never reported")
	}
	if err := d.LogRequest(t.Context(), sampleEntry(0)); err != nil {
		t.Fatalf("device did not recover after the failure was reported: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBlockedWriterDoesNotHangControl(t *testing.T) {
	k := newKeys(t)
	w := &blockingWriter{release: make(chan struct{})}
	o := k.opts()
	o.Wait = 20 * time.Millisecond
	wd, err := audit.NewWriterDevice(w, o.Options)
	if err != nil {
		t.Fatal(err)
	}
	if err := wd.LogRequest(t.Context(), sampleEntry(0)); !errors.Is(err, audit.ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	if err := wd.Close(); !errors.Is(err, audit.ErrTimeout) {
		t.Fatalf("close of a blocked device: %v", err)
	}
	close(w.release)
}

// TestRestartAfterCrash: a log cut after a crash (no closing checkpoint)
// continues on the next open; the restart shows the unclean stop.
func TestRestartAfterCrash(t *testing.T) {
	k := newKeys(t)
	path := tempLog(t)
	d := openFile(t, path, k.opts())
	logN(t, d, 3)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	crashed := append(bytes.Join(lines[:len(lines)-1], []byte("\n")), '\n') // drop the closing checkpoint
	if err := os.WriteFile(path, crashed, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(k.pub, path)
	if err != nil || rep.OK || rep.Problem.Reason != audit.ReasonTruncated || rep.Problem.Line != 4 {
		t.Fatalf("crashed log: %+v %v", rep, err)
	}
	d = openFile(t, path, k.opts())
	logN(t, d, 2)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err = audit.Verify(k.pub, path)
	if err != nil || rep.OK || rep.Problem.Reason != audit.ReasonTruncated || rep.Problem.Line != 4 || rep.Problem.Seq != 4 ||
		!strings.Contains(rep.Problem.Detail, "without a closing checkpoint before seq 5") {
		t.Fatalf("restarted log: %+v %v", rep, err)
	}
	rep, err = audit.VerifySources(k.pub, audit.VerifyOptions{AllowUncleanStop: true}, source(t, path))
	// open 1, entries 2..4, (close lost) open 5, entries 6..7, close 8
	if err != nil || !rep.OK || rep.Entries != 5 || rep.LastSeq != 8 || rep.UncleanStops != 1 || rep.Segments != 2 {
		t.Fatalf("got %+v %v", rep, err)
	}
}
