package userpass_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/userpass"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// fastParams keep tests quick; the defaults are exercised separately.
var fastParams = userpass.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// harness is one userpass mount over an inmem store, logs captured.
type harness struct {
	t     testing.TB
	b     *userpass.Backend
	phys  *inmem.Backend
	store logical.Storage
	clock *clock
	logs  *syncBuffer
	opts  map[string]string
}

func newHarness(t testing.TB, mountOpts map[string]string) *harness {
	t.Helper()
	c := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	return newHarnessOn(t, inmem.New(), c, mountOpts, fastParams)
}

func newHarnessOn(t testing.TB, phys *inmem.Backend, c *clock, mountOpts map[string]string, p userpass.Argon2Params) *harness {
	t.Helper()
	store := storage.NewView(phys, "auth/userpass-uuid/")
	logs := &syncBuffer{}
	b, err := userpass.New(context.Background(), &logical.BackendConfig{
		MountPoint: "auth/userpass/", Config: mountOpts, Storage: store,
	}, userpass.WithClock(c.Now), userpass.WithArgon2Params(p),
		userpass.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, b: b, phys: phys, store: store, clock: c, logs: logs, opts: mountOpts}
}

// restart is a fresh backend over the same storage, with params p.
func (h *harness) restart(p userpass.Argon2Params) *harness {
	h.t.Helper()
	return newHarnessOn(h.t, h.phys, h.clock, h.opts, p)
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store,
		MountPoint: "auth/userpass/", MountType: userpass.Type,
		Connection: &logical.Connection{RemoteAddr: "127.0.0.1"},
	})
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func (h *harness) login(addr, user, password string) (*logical.Response, error) {
	req := &logical.Request{
		Operation: logical.UpdateOperation, Path: "login/" + user, Data: map[string]any{"password": password},
		Storage: h.store, MountPoint: "auth/userpass/", MountType: userpass.Type,
	}
	if addr != "" {
		req.Connection = &logical.Connection{RemoteAddr: addr}
	}
	return h.b.HandleRequest(context.Background(), req)
}

// stored returns the raw stored entry of user name.
func (h *harness) stored(name string) string {
	h.t.Helper()
	e, err := h.store.Get(context.Background(), "user/"+name)
	if err != nil {
		h.t.Fatal(err)
	}
	if e == nil {
		return ""
	}
	return string(e.Value)
}

// dump returns every stored value as text.
func (h *harness) dump() string {
	h.t.Helper()
	keys, err := h.store.List(context.Background(), "user/")
	if err != nil {
		h.t.Fatal(err)
	}
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(k + "=" + h.stored(k) + "\n")
	}
	return sb.String()
}
