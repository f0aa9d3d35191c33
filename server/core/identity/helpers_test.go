package identity_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second) // every reading is later than the last
	return c.now
}

// harness is a Store over a real inmem backend through a storage view.
type harness struct {
	t     testing.TB
	ctx   context.Context
	be    *inmem.Backend
	view  storage.Backend
	clock *clock
	s     *identity.Store
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	be := inmem.New()
	h := &harness{t: t, ctx: context.Background(), be: be, view: storage.NewView(be, "sys/identity/"),
		clock: &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}}
	h.s = h.open()
	return h
}

// open returns a fresh Store over the harness's storage, set up.
func (h *harness) open() *identity.Store {
	h.t.Helper()
	s := identity.New(h.view, identity.Options{Now: h.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err := s.Setup(h.ctx); err != nil {
		h.t.Fatalf("Setup: %v", err)
	}
	return s
}

// do sends one request to the store's backend.
func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.s.Backend().HandleRequest(h.ctx, &logical.Request{Operation: op, Path: path, Data: data, MountPoint: "identity/"})
}

// must sends a request that must succeed and returns its data (nil for
// a nil response).
func (h *harness) must(op logical.Operation, path string, data map[string]any) map[string]any {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	if resp == nil {
		return nil
	}
	return resp.Data
}

// mustFail sends a request that must fail with an error wrapping want;
// t is the (sub)test reporting it.
func (h *harness) mustFail(t testing.TB, op logical.Operation, path string, data map[string]any, want error) {
	t.Helper()
	_, err := h.do(op, path, data)
	if !errors.Is(err, want) {
		t.Fatalf("%s %s: err = %v, want %v", op, path, err, want)
	}
}

func (h *harness) write(path string, data map[string]any) map[string]any {
	h.t.Helper()
	return h.must(logical.UpdateOperation, path, data)
}

func (h *harness) read(path string) map[string]any {
	h.t.Helper()
	return h.must(logical.ReadOperation, path, nil)
}

// entity creates an entity and returns its id.
func (h *harness) entity(name string, extra map[string]any) string {
	h.t.Helper()
	data := map[string]any{"name": name}
	for k, v := range extra {
		data[k] = v
	}
	out := h.write("entity", data)
	if out == nil {
		h.t.Fatalf("create entity %q: no answer (it existed?)", name)
	}
	return out["id"].(string)
}

// group creates a group and returns its id.
func (h *harness) group(name string, extra map[string]any) string {
	h.t.Helper()
	data := map[string]any{"name": name}
	for k, v := range extra {
		data[k] = v
	}
	out := h.write("group", data)
	if out == nil {
		h.t.Fatalf("create group %q: no answer (it existed?)", name)
	}
	return out["id"].(string)
}

func (h *harness) login(l identity.LoginAlias) string {
	h.t.Helper()
	id, err := h.s.Login(h.ctx, l)
	if err != nil {
		h.t.Fatalf("Login(%+v): %v", l, err)
	}
	return id
}

func strs(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case nil:
		return nil
	}
	panic("not a []string")
}
