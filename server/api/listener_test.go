package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
)

// cutOffWithin bounds every wait for the server to hang up: generous, so
// that a loaded machine does not fail the tests, yet well below the
// defaults (10 s header, 30 s request) the tests' own timeouts replace.
const cutOffWithin = 5 * time.Second

// serveListener runs s.ServeListener with cfg on a loopback listener
// until the test ends and returns its address.
func serveListener(t *testing.T, s *api.Server, cfg api.ListenerConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.ServeListener(ctx, ln, nil, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return ln.Addr().String()
}

// dribble opens a raw connection to addr, sends head at once, then sends
// slow one byte every interval until the server hangs up or cutOffWithin
// passes. It reports whether the server closed the connection before
// slow was complete, and what (if anything) it answered.
func dribble(t *testing.T, addr, head, slow string, interval time.Duration) (closedEarly bool, answer string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // returns when the server closes the connection
		got <- string(b)
	}()
	deadline := time.After(cutOffWithin)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; i < len(slow); i++ {
		select {
		case answer = <-got:
			return true, answer
		case <-deadline:
			return false, ""
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{slow[i]}); err != nil {
			return true, <-got // reset by the server
		}
	}
	return false, ""
}

func testListenerConfig() api.ListenerConfig {
	cfg := api.DefaultListenerConfig()
	cfg.ReadHeaderTimeout = 400 * time.Millisecond
	cfg.ReadTimeout = 400 * time.Millisecond
	return cfg
}

// TestListenerCutsOffSlowClients checks the timeouts of a real listener
// against a real TCP client that keeps sending, but too slowly.
func TestListenerCutsOffSlowClients(t *testing.T) {
	addr := serveListener(t, api.New(newCore(t), api.Options{Logger: slog.New(slog.DiscardHandler)}), testListenerConfig())
	// 100 bytes at one per 100 ms would take 10 s; the timeouts are 400 ms.
	slow := strings.Repeat("a", 100)
	tests := []struct {
		name, head, slow string
	}{
		{"headers one byte at a time", "GET /v1/sys/seal-status HTTP/1.1\r\nHost: vault\r\nX-Slow: ", slow},
		{"body one byte at a time", "PUT /v1/sys/unseal HTTP/1.1\r\nHost: vault\r\nContent-Type: application/json\r\nContent-Length: 112\r\n\r\n" + `{"key":"`, slow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			closedEarly, answer := dribble(t, addr, tc.head, tc.slow, 100*time.Millisecond)
			if !closedEarly {
				t.Fatalf("connection still open after %v of dribbling", cutOffWithin)
			}
			if strings.HasPrefix(answer, "HTTP/1.1 2") {
				t.Fatalf("the incomplete request was answered: %q", answer)
			}
		})
	}

	// The same listener serves a client that sends at normal speed.
	resp, err := http.Get("http://" + addr + "/v1/sys/seal-status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("seal-status = %d", resp.StatusCode)
	}
}

// TestListenerIdleTimeout checks that a keep-alive connection left idle
// after an answer is closed after IdleTimeout.
func TestListenerIdleTimeout(t *testing.T) {
	cfg := api.DefaultListenerConfig()
	cfg.IdleTimeout = 300 * time.Millisecond
	addr := serveListener(t, api.New(newCore(t), api.Options{Logger: slog.New(slog.DiscardHandler)}), cfg)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /v1/sys/seal-status HTTP/1.1\r\nHost: vault\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("first answer = %d (close %v), %v; want 200 keeping the connection", resp.StatusCode, resp.Close, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(cutOffWithin))
	if n, err := br.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %d bytes, %v; want the server to close it (EOF)", n, err)
	}
}

func TestListenerHeaderLimit(t *testing.T) {
	cfg := api.DefaultListenerConfig()
	cfg.MaxHeaderBytes = 1024
	addr := serveListener(t, api.New(newCore(t), api.Options{Logger: slog.New(slog.DiscardHandler)}), cfg)
	tests := []struct {
		name   string
		header int
		want   int
	}{
		// net/http allows 4 KiB above MaxHeaderBytes.
		{"within the limit", 1024, 200},
		{"beyond the limit", 16 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "http://"+addr+"/v1/sys/seal-status", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Padding", strings.Repeat("p", tc.header))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestListenerConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*api.ListenerConfig)
		field  string
	}{
		{"negative read timeout", func(c *api.ListenerConfig) { c.ReadTimeout = -time.Second }, "ReadTimeout"},
		{"negative idle timeout", func(c *api.ListenerConfig) { c.IdleTimeout = -time.Second }, "IdleTimeout"},
		{"no header limit", func(c *api.ListenerConfig) { c.MaxHeaderBytes = 0 }, "MaxHeaderBytes"},
	}
	if err := api.DefaultListenerConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := api.DefaultListenerConfig()
			tc.change(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, api.ErrListenerConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want ErrListenerConfig naming %s", err, tc.field)
			}
			ln, lerr := net.Listen("tcp", "127.0.0.1:0")
			if lerr != nil {
				t.Fatal(lerr)
			}
			defer ln.Close()
			if err := api.New(newCore(t), api.Options{}).ServeListener(context.Background(), ln, nil, cfg); !errors.Is(err, api.ErrListenerConfig) {
				t.Fatalf("ServeListener = %v, want ErrListenerConfig", err)
			}
		})
	}
}

// snapshotCore is a real core whose raft snapshots are slow streams: a
// save writes chunks with a pause between them, a restore reads the
// whole body and reports what it got.
type snapshotCore struct {
	*core.Core
	chunks   int
	chunk    []byte
	pause    time.Duration
	restored chan restoreResult
}

type restoreResult struct {
	n   int64
	err error
}

// HandleRequest answers the snapshot path itself, as core's handler
// would: a save streams into req.ResponseWriter, a restore reads req.Body.
func (c *snapshotCore) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Path != "sys/storage/raft/snapshot" {
		return c.Core.HandleRequest(ctx, req)
	}
	if req.Operation == logical.ReadOperation {
		return nil, c.save(ctx, req.ResponseWriter)
	}
	return nil, c.restore(req.Body)
}

func (c *snapshotCore) save(ctx context.Context, w io.Writer) error {
	for range c.chunks {
		if _, err := w.Write(c.chunk); err != nil {
			return err
		}
		select {
		case <-time.After(c.pause):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (c *snapshotCore) restore(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	c.restored <- restoreResult{n, err}
	return err
}

// slowBody yields chunks with a pause before each, then either ends or,
// with stall, blocks until released.
type slowBody struct {
	chunks int
	chunk  []byte
	pause  time.Duration
	stall  chan struct{}
	sent   int    // whole chunks sent
	rest   []byte // of the chunk being sent
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		if b.sent == b.chunks {
			if b.stall != nil {
				<-b.stall
			}
			return 0, io.EOF
		}
		time.Sleep(b.pause)
		b.sent++
		b.rest = b.chunk
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// TestListenerSnapshotsStream checks that snapshot transfers longer than
// the read and write timeouts complete while they make progress, and
// that a stalled upload is still cut off.
func TestListenerSnapshotsStream(t *testing.T) {
	const timeout = 300 * time.Millisecond
	chunk := []byte(strings.Repeat("s", 64<<10))
	sc := &snapshotCore{Core: newCore(t), chunks: 12, chunk: chunk, pause: 100 * time.Millisecond, restored: make(chan restoreResult, 1)}
	cfg := api.DefaultListenerConfig()
	cfg.ReadTimeout, cfg.WriteTimeout = timeout, timeout
	addr := serveListener(t, api.New(sc, api.Options{Logger: slog.New(slog.DiscardHandler)}), cfg)
	url := "http://" + addr + "/v1/sys/storage/raft/snapshot"

	t.Run("download of 1.2 s with a 300 ms write timeout", func(t *testing.T) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, bufio.NewReader(resp.Body))
		if err != nil || resp.StatusCode != 200 || n != int64(sc.chunks*len(chunk)) {
			t.Fatalf("download = %d, %d bytes, %v; want 200, %d bytes", resp.StatusCode, n, err, sc.chunks*len(chunk))
		}
	})

	upload := func(t *testing.T, body *slowBody) (*http.Response, error) {
		t.Helper()
		req, err := http.NewRequest("PUT", url, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		return resp, err
	}
	t.Run("upload of 1.2 s with a 300 ms read timeout", func(t *testing.T) {
		resp, err := upload(t, &slowBody{chunks: 12, chunk: chunk, pause: 100 * time.Millisecond})
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("upload = %v, %v; want 204", resp, err)
		}
		if got := <-sc.restored; got.err != nil || got.n != int64(12*len(chunk)) {
			t.Fatalf("restore read %d bytes, %v; want %d", got.n, got.err, 12*len(chunk))
		}
	})
	t.Run("stalled upload", func(t *testing.T) {
		stall := make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(stall) }) }
		defer release()
		type answer struct {
			resp *http.Response
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			resp, err := upload(t, &slowBody{chunks: 2, chunk: chunk, pause: 10 * time.Millisecond, stall: stall})
			done <- answer{resp, err}
		}()
		select {
		case got := <-sc.restored:
			if !errors.Is(got.err, os.ErrDeadlineExceeded) {
				t.Fatalf("restore read %d bytes, %v; want a read deadline error", got.n, got.err)
			}
		case <-time.After(cutOffWithin):
			t.Fatalf("stalled upload still being read after %v", cutOffWithin)
		}
		release()
		if a := <-done; a.err == nil && a.resp.StatusCode < 400 {
			t.Fatalf("stalled upload answered %d", a.resp.StatusCode)
		}
	})
}
