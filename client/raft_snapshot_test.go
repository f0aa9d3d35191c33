package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit int
	n     int
}

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		return 0, errDiskFull
	}
	f.n += len(p)
	return len(p), nil
}

func TestRaftSaveSnapshot(t *testing.T) {
	t.Parallel()
	snap := snapshotBytes(3<<20 + 17)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		opts    []client.Option
		dst     func() io.Writer
		want    []byte // whole snapshot expected
		wantErr []error
		errText string
	}{
		{name: "complete stream", want: snap,
			handler: func(w http.ResponseWriter, _ *http.Request) { streamChunks(w, snap, 64<<10, 0) }},
		{name: "larger than the response limit", want: snap, opts: []client.Option{client.WithMaxResponseBytes(1024)},
			handler: func(w http.ResponseWriter, _ *http.Request) { streamChunks(w, snap, 64<<10, 0) }},
		{name: "slow but steady stream outlives the timeout", want: snap[:20<<10],
			opts: []client.Option{client.WithTimeout(400 * time.Millisecond)},
			handler: func(w http.ResponseWriter, _ *http.Request) {
				streamChunks(w, snap[:20<<10], 1<<10, 40*time.Millisecond) // ~800 ms in all
			}},
		{name: "server aborts mid-stream", wantErr: []error{client.ErrIncompleteStream, io.ErrUnexpectedEOF},
			handler: func(w http.ResponseWriter, _ *http.Request) {
				streamChunks(w, snap[:1<<20], 64<<10, 0)
				panic(http.ErrAbortHandler)
			}},
		{name: "body shorter than content-length", wantErr: []error{client.ErrIncompleteStream, io.ErrUnexpectedEOF},
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(snap)))
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(snap[:1000])
			}},
		{name: "stalled stream", wantErr: []error{client.ErrIncompleteStream, context.DeadlineExceeded}, errText: "no data moved for 200ms",
			opts: []client.Option{client.WithTimeout(200 * time.Millisecond)},
			handler: func(w http.ResponseWriter, r *http.Request) {
				streamChunks(w, snap[:1000], 1000, 0)
				<-r.Context().Done()
			}},
		{name: "empty answer", wantErr: []error{client.ErrIncompleteStream}, errText: "empty snapshot",
			handler: func(http.ResponseWriter, *http.Request) {}},
		{name: "no content", errText: "unexpected status 204",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{name: "forbidden", wantErr: []error{client.ErrPermissionDenied}, errText: "permission denied",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errors":["permission denied"]}`)
			}},
		{name: "destination fails", wantErr: []error{errDiskFull}, errText: "write snapshot after",
			dst:     func() io.Writer { return &failingWriter{limit: 100 << 10} },
			handler: func(w http.ResponseWriter, _ *http.Request) { streamChunks(w, snap, 64<<10, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotReq string
			c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				gotReq = r.Method + " " + r.URL.Path + " " + r.Header.Get("X-Vault-Token")
				tt.handler(w, r)
			}, tt.opts...)
			var buf bytes.Buffer
			var dst io.Writer = &buf
			if tt.dst != nil {
				dst = tt.dst()
			}
			n, err := c.Raft().SaveSnapshot(context.Background(), dst)
			if gotReq != "GET /v1/sys/storage/raft/snapshot s.root" {
				t.Fatalf("request = %q", gotReq)
			}
			if tt.want != nil {
				if err != nil || n != int64(len(tt.want)) || !bytes.Equal(buf.Bytes(), tt.want) {
					t.Fatalf("SaveSnapshot = %d, %v; got %d bytes, want %d", n, err, buf.Len(), len(tt.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("SaveSnapshot succeeded with %d bytes, want an error", n)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to match %v", err, want)
				}
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %v, want it to contain %q", err, tt.errText)
			}
			if strings.Contains(err.Error(), "s.root") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestRaftSaveSnapshotCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		streamChunks(w, snapshotBytes(1000), 1000, 0)
		<-r.Context().Done()
	})
	// The caller gives up once the first bytes are in.
	dst := writerFunc(func(p []byte) (int, error) { cancel(); return len(p), nil })
	n, err := c.Raft().SaveSnapshot(ctx, dst)
	if n != 1000 || !errors.Is(err, context.Canceled) || !errors.Is(err, client.ErrIncompleteStream) {
		t.Fatalf("SaveSnapshot = %d, %v; want 1000 bytes, context.Canceled and ErrIncompleteStream", n, err)
	}
}

// received is what the fake restore endpoint saw.
type received struct {
	path, contentType, token string
	contentLength            int64
	size                     int
	sum                      [32]byte
}

func TestRaftRestoreSnapshot(t *testing.T) {
	t.Parallel()
	snap := snapshotBytes(5<<20 + 3)
	tests := []struct {
		name     string
		force    bool
		status   int
		reply    string
		after    time.Duration // server work after reading the body
		opts     []client.Option
		src      func() io.Reader
		wantPath string
		wantErr  error
		errText  string
	}{
		{name: "restore", status: 204, wantPath: "/v1/sys/storage/raft/snapshot",
			opts: []client.Option{client.WithMaxResponseBytes(1024)}},
		{name: "force", force: true, status: 204, wantPath: "/v1/sys/storage/raft/snapshot-force"},
		{name: "long install outlives the inactivity timeout", status: 204, after: 600 * time.Millisecond,
			opts: []client.Option{client.WithTimeout(150 * time.Millisecond)}, wantPath: "/v1/sys/storage/raft/snapshot"},
		{name: "refused", status: 400, reply: `{"errors":["raft: snapshot checksum mismatch"]}`,
			wantPath: "/v1/sys/storage/raft/snapshot", wantErr: client.ErrInvalidRequest, errText: "checksum mismatch"},
		{name: "source fails", status: 204, wantErr: errDiskFull, errText: "read snapshot source",
			src: func() io.Reader { return io.MultiReader(bytes.NewReader(snap[:1<<20]), &errReader{errDiskFull}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan received, 1)
			c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				h := sha256.New()
				n, err := io.Copy(h, r.Body)
				rec := received{path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
					token: r.Header.Get("X-Vault-Token"), contentLength: r.ContentLength, size: int(n)}
				copy(rec.sum[:], h.Sum(nil))
				got <- rec
				if err != nil {
					return
				}
				time.Sleep(tt.after)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.reply)
			}, tt.opts...)
			var src io.Reader = bytes.NewReader(snap)
			if tt.src != nil {
				src = tt.src()
			}
			err := c.Raft().RestoreSnapshot(context.Background(), src, tt.force)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(fmtErr(err), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				if tt.src != nil {
					return // the server saw a broken upload; nothing more to check
				}
			} else if err != nil {
				t.Fatalf("RestoreSnapshot: %v", err)
			}
			rec := <-got
			want := received{path: tt.wantPath, contentType: "application/octet-stream", token: "s.root",
				contentLength: -1, size: len(snap), sum: sha256.Sum256(snap)}
			if rec != want {
				t.Fatalf("server saw %+v, want %+v", rec, want)
			}
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestRaftRestoreSnapshotStreams proves the body is streamed: the source
// hands out its second half only after the server has received bytes of
// the first, which a client buffering the whole body would never do.
func TestRaftRestoreSnapshotStreams(t *testing.T) {
	t.Parallel()
	snap := snapshotBytes(2 << 20)
	firstBytes := make(chan struct{})
	sums := make(chan [32]byte, 1)
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		buf := make([]byte, 4096)
		signalled := false
		for {
			n, err := r.Body.Read(buf)
			h.Write(buf[:n])
			if n > 0 && !signalled {
				signalled = true
				close(firstBytes)
			}
			if err != nil {
				break
			}
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		sums <- sum
		w.WriteHeader(http.StatusNoContent)
	})
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(snap[:1<<20])
		select {
		case <-firstBytes:
			_, _ = pw.Write(snap[1<<20:])
			_ = pw.Close()
		case <-time.After(10 * time.Second):
			_ = pw.CloseWithError(errors.New("server saw no byte before the source ended: body not streamed"))
		}
	}()
	if err := c.Raft().RestoreSnapshot(context.Background(), pr, false); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	if got := <-sums; got != sha256.Sum256(snap) {
		t.Fatal("server received different bytes")
	}
}

// TestRaftRestoreSnapshotRejectedEarly: a server that refuses the upload
// without reading it (a bad token) yields its error, not a broken pipe.
func TestRaftRestoreSnapshotRejectedEarly(t *testing.T) {
	t.Parallel()
	c := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errors":["permission denied"]}`)
	})
	err := c.Raft().RestoreSnapshot(context.Background(), bytes.NewReader(snapshotBytes(16<<20)), false)
	if !errors.Is(err, client.ErrPermissionDenied) {
		t.Fatalf("err = %v, want ErrPermissionDenied", err)
	}
}
