package approle_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/approle"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// clock is a settable time source.
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

// syncBuffer is a log sink safe for concurrent writers.
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

// harness is one approle mount over an inmem store, seen through a view
// as core mounts it, with its logs captured.
type harness struct {
	t     testing.TB
	b     *approle.Backend
	phys  *inmem.Backend
	store logical.Storage
	clock *clock
	logs  *syncBuffer
	opts  map[string]string
}

func newHarness(t testing.TB, mountOpts map[string]string) *harness {
	t.Helper()
	phys := inmem.New()
	c := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	return newHarnessOn(t, phys, c, mountOpts)
}

// newHarnessOn builds a fresh backend over an existing store (a restart).
func newHarnessOn(t testing.TB, phys *inmem.Backend, c *clock, mountOpts map[string]string) *harness {
	t.Helper()
	store := storage.NewView(phys, "auth/approle-uuid/")
	logs := &syncBuffer{}
	b, err := approle.New(context.Background(), &logical.BackendConfig{
		MountPoint: "auth/approle/", Config: mountOpts, Storage: store,
	}, approle.WithClock(c.Now), approle.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, b: b, phys: phys, store: store, clock: c, logs: logs, opts: mountOpts}
}

func (h *harness) restart() *harness {
	h.t.Helper()
	return newHarnessOn(h.t, h.phys, h.clock, h.opts)
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.doFrom("127.0.0.1", op, path, data)
}

func (h *harness) doFrom(addr string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	req := &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store,
		MountPoint: "auth/approle/", MountType: approle.Type,
	}
	if addr != "" {
		req.Connection = &logical.Connection{RemoteAddr: addr}
	}
	return h.b.HandleRequest(context.Background(), req)
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// role creates role name with data and returns its role_id.
func (h *harness) role(name string, data map[string]any) string {
	h.t.Helper()
	h.must(logical.CreateOperation, "role/"+name, data)
	return h.must(logical.ReadOperation, "role/"+name+"/role-id", nil).Data["role_id"].(string)
}

// secretID generates a secret id for role name and returns it and its
// accessor.
func (h *harness) secretID(name string, data map[string]any) (string, string) {
	h.t.Helper()
	resp := h.must(logical.UpdateOperation, "role/"+name+"/secret-id", data)
	return resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
}

func (h *harness) login(addr, roleID, secretID string) (*logical.Response, error) {
	data := map[string]any{"role_id": roleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	return h.doFrom(addr, logical.UpdateOperation, "login", data)
}

// dump returns every key and value of the physical store as text.
func (h *harness) dump() string {
	h.t.Helper()
	var sb strings.Builder
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := h.phys.List(context.Background(), prefix)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			e, err := h.phys.Get(context.Background(), prefix+k)
			if err != nil {
				h.t.Fatal(err)
			}
			sb.WriteString(prefix + k + "=" + string(e.Value) + "\n")
		}
	}
	walk("")
	return sb.String()
}

// keysUnder lists the physical keys under the mount's prefix p.
func (h *harness) keysUnder(p string) []string {
	h.t.Helper()
	keys, err := h.store.List(context.Background(), p)
	if err != nil {
		h.t.Fatal(err)
	}
	return keys
}
