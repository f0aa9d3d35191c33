// Package authtest is the test harness the auth methods' tests share: a
// settable clock, a log sink safe for concurrent writers, and a Mount —
// one method's backend over an in-memory store seen through a storage
// view, as core mounts it — with request helpers. It is imported by
// tests only (it is internal to engines/auth and imports testing); no
// production code may use it.
package authtest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// Start is the clock's time when a Setup names none.
var Start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a settable time source, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time (pass it as a method's WithClock).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// LogBuffer is a log sink safe for concurrent writers.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logger returns a debug-level text logger writing to b.
func (b *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Setup describes a Mount. Only Type is required.
type Setup struct {
	// Type is the method type (the requests' MountType).
	Type string
	// Path is the mount point; default "auth/<Type>/".
	Path string
	// View is the storage view's prefix in Phys; default
	// "auth/<Type>-uuid/".
	View string
	// Options are the mount options (BackendConfig.Config).
	Options map[string]string
	// Phys is the physical store; nil means a new one (pass the old one
	// to restart a mount over its storage).
	Phys *inmem.Backend
	// Clock is the mount's clock; nil means NewClock(Start).
	Clock *Clock
	// Remote is the client address of Do and Must; "" sends requests
	// without a connection.
	Remote string
}

// Mount is one auth method mount for a test.
type Mount struct {
	T       testing.TB
	Backend logical.Backend
	Phys    *inmem.Backend
	Storage logical.Storage
	Clock   *Clock
	Path    string
	Type    string
	Remote  string
}

// NewMount builds the mount s describes with build (which gets the
// BackendConfig core would pass and the clock to give the method), and
// returns it with the backend build made. A build error fails the test.
func NewMount[B logical.Backend](t testing.TB, s Setup, build func(conf *logical.BackendConfig, clock *Clock) (B, error)) (*Mount, B) {
	t.Helper()
	if s.Path == "" {
		s.Path = "auth/" + s.Type + "/"
	}
	if s.View == "" {
		s.View = "auth/" + s.Type + "-uuid/"
	}
	if s.Phys == nil {
		s.Phys = inmem.New()
	}
	if s.Clock == nil {
		s.Clock = NewClock(Start)
	}
	m := &Mount{T: t, Phys: s.Phys, Storage: storage.NewView(s.Phys, s.View), Clock: s.Clock, Path: s.Path, Type: s.Type, Remote: s.Remote}
	b, err := build(&logical.BackendConfig{MountPoint: s.Path, Config: s.Options, Storage: m.Storage}, s.Clock)
	if err != nil {
		t.Fatal(err)
	}
	m.Backend = b
	return m, b
}

// Send fills in req's storage, mount point and mount type and hands it
// to the backend.
func (m *Mount) Send(req *logical.Request) (*logical.Response, error) {
	req.Storage, req.MountPoint, req.MountType = m.Storage, m.Path, m.Type
	return m.Backend.HandleRequest(context.Background(), req)
}

// DoFrom sends one request from the client address remote ("" for no
// connection).
func (m *Mount) DoFrom(remote string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	req := &logical.Request{Operation: op, Path: path, Data: data}
	if remote != "" {
		req.Connection = &logical.Connection{RemoteAddr: remote}
	}
	return m.Send(req)
}

// Do sends one request from m.Remote.
func (m *Mount) Do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return m.DoFrom(m.Remote, op, path, data)
}

// Must is Do, failing the test on an error.
func (m *Mount) Must(op logical.Operation, path string, data map[string]any) *logical.Response {
	m.T.Helper()
	resp, err := m.Do(op, path, data)
	if err != nil {
		m.T.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// List lists the mount's storage keys under prefix.
func (m *Mount) List(prefix string) []string {
	m.T.Helper()
	keys, err := m.Storage.List(context.Background(), prefix)
	if err != nil {
		m.T.Fatal(err)
	}
	return keys
}

// Dump returns every key and value of the physical store, one
// "key=value" line each (to search for a secret stored in the clear).
func (m *Mount) Dump() string {
	m.T.Helper()
	var sb strings.Builder
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := m.Phys.List(context.Background(), prefix)
		if err != nil {
			m.T.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			e, err := m.Phys.Get(context.Background(), prefix+k)
			if err != nil {
				m.T.Fatal(err)
			}
			sb.WriteString(prefix + k + "=" + string(e.Value) + "\n")
		}
	}
	walk("")
	return sb.String()
}
