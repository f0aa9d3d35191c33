package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Crash stops the device as a crash would: the writer goroutine ends
// without writing what is queued or a close checkpoint, and the file is
// closed (tests only).
func (d *Device) Crash() {
	d.crashed.Store(true)
	_ = d.Close()
}

// faultyFile is a real *os.File whose writes and truncations can be made
// to fail.
type faultyFile struct {
	*os.File
	mu sync.Mutex
	// failWrites: the next writes fail after writing `partial` of their
	// bytes to the file.
	failWrites int
	partial    func(n int) int
	// failTruncate makes Truncate fail.
	failTruncate bool
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWrites == 0 {
		return f.File.Write(p)
	}
	f.failWrites--
	n, err := f.File.Write(p[:f.partial(len(p))])
	if err != nil {
		return n, err
	}
	return n, errors.New("injected EIO")
}

func (f *faultyFile) Truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failTruncate {
		return errors.New("injected truncate failure")
	}
	return f.File.Truncate(size)
}

func (f *faultyFile) set(writes int, partial func(int) int, truncFails bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWrites, f.partial, f.failTruncate = writes, partial, truncFails
}

// faultyOpener opens real files, wrapped; the last one opened is in
// *last.
func faultyOpener(last **faultyFile) opener {
	return func(path string, mode os.FileMode) (file, int64, error) {
		f, size, err := openAppend(path, mode)
		if err != nil {
			return nil, 0, err
		}
		*last = &faultyFile{File: f.(*os.File)}
		return *last, size, nil
	}
}

func internalOpts(t *testing.T) (FileOptions, ed25519.PublicKey) {
	t.Helper()
	root := make([]byte, RootKeySize)
	if _, err := rand.Read(root); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return FileOptions{Options: Options{RootKey: root, SigningKey: priv, Wait: 5 * time.Second}}, pub
}

func logOne(d *Device, i int) error {
	return d.LogRequest(context.Background(), &Entry{Time: time.Unix(int64(i), 0), RequestID: "r", Operation: "read", Path: "p"})
}

// TestFailedWriteLeavesNoPartialLine: a failed or short write of a batch
// is truncated away and the next batch is written normally; only when
// the truncation fails too is the device broken (until Reopen), and then
// the file ends mid-line.
func TestFailedWriteLeavesNoPartialLine(t *testing.T) {
	half := func(n int) int { return n / 2 }
	none := func(int) int { return 0 }
	tests := []struct {
		name       string
		partial    func(int) int
		truncFails bool
		broken     bool
	}{
		{"partial write removed", half, false, false},
		{"nothing written", none, false, false},
		{"nothing written, truncate fails", none, true, false},
		{"partial write, truncate fails", half, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			o, pub := internalOpts(t)
			var ff *faultyFile
			d, err := openFile(path, o, faultyOpener(&ff))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := logOne(d.Device, i); err != nil {
					t.Fatal(err)
				}
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ff.set(1, tt.partial, tt.truncFails)
			err = logOne(d.Device, 3)
			if err == nil || !strings.Contains(err.Error(), "injected EIO") {
				t.Fatalf("failed write reported as %v", err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if grew := !bytes.Equal(after, before); grew != tt.broken {
				t.Fatalf("file changed by the failed write: %v, want %v", grew, tt.broken)
			}
			if p := d.Position(); p.Seq != 4 { // open + 3 entries
				t.Fatalf("position moved by the failed write: %+v", p)
			}
			err = logOne(d.Device, 4)
			if (err != nil) != tt.broken {
				t.Fatalf("write after the failure: %v (broken %v)", err, tt.broken)
			}
			if tt.broken {
				checkBrokenThenReopen(t, d, path, pub)
				return
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(pub, path)
			if err != nil || !rep.OK || rep.Entries != 4 || rep.LastSeq != 6 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}

// checkBrokenThenReopen: a torn file stays torn (Verify says so), and
// Reopen on a new file brings the device back.
func checkBrokenThenReopen(t *testing.T, d *FileDevice, path string, pub ed25519.PublicKey) {
	t.Helper()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Reopen(); err == nil || !strings.Contains(err.Error(), "torn") {
		t.Fatalf("reopen of a torn log: %v (want the torn failure reported)", err)
	}
	if err := logOne(d.Device, 5); err != nil {
		t.Fatalf("write after Reopen: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(pub, path+".1")
	if err != nil || rep.OK || rep.Problem.Reason != ReasonTruncated || rep.Problem.Detail != "file ends mid-line" {
		t.Fatalf("torn file: %+v %v", rep, err)
	}
	rep, err = VerifySources(pub, VerifyOptions{AllowPartialHead: true}, Source{Name: path, R: mustOpen(t, path)})
	if err != nil || !rep.OK || rep.Entries != 1 || rep.Segments != 1 {
		t.Fatalf("new file: %+v %v", rep, err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
