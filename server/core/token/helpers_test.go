package token_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
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
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a Store over a real inmem backend through a storage view,
// with a root token ready.
type harness struct {
	t     testing.TB
	ctx   context.Context
	be    *inmem.Backend
	clock *clock
	store *token.Store
	root  string
}

func newHarness(t testing.TB, opts token.Options) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		ctx:   context.Background(),
		be:    inmem.New(),
		clock: &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	opts.Now = h.clock.Now
	opts.Logger = slog.New(slog.DiscardHandler)
	h.store = token.NewStore(storage.NewView(h.be, "sys/token/"), opts)
	if err := h.store.Setup(h.ctx); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	raw, e, err := h.store.CreateRoot(h.ctx)
	if err != nil {
		t.Fatalf("CreateRoot: %v", err)
	}
	if !e.IsRoot() || !e.Orphan || !e.ExpireTime.IsZero() {
		t.Fatalf("root entry = %+v", e)
	}
	h.root = raw
	return h
}

// do authenticates callerRaw (consuming a use) and sends a request.
func (h *harness) do(callerRaw string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	h.t.Helper()
	caller, err := h.store.Authenticate(h.ctx, callerRaw)
	if err != nil {
		return nil, err
	}
	req := &logical.Request{Operation: op, Path: path, Data: data, ClientToken: callerRaw, MountPoint: "auth/token/"}
	return h.store.HandleRequest(h.ctx, req, caller)
}

// mustDo is do that fails the test on error.
func (h *harness) mustDo(callerRaw string, op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(callerRaw, op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// create makes a token as callerRaw and returns its raw value and auth block.
func (h *harness) create(callerRaw string, data map[string]any) (string, *logical.Auth) {
	h.t.Helper()
	resp := h.mustDo(callerRaw, logical.UpdateOperation, "create", data)
	if resp == nil || resp.Auth == nil {
		h.t.Fatalf("create: no auth block: %+v", resp)
	}
	return resp.Auth.ClientToken, resp.Auth
}

// valid reports whether raw authenticates (without consuming uses).
func (h *harness) valid(raw string) bool {
	h.t.Helper()
	_, err := h.store.Lookup(h.ctx, raw)
	if err != nil && !errors.Is(err, token.ErrInvalidToken) {
		h.t.Fatalf("Lookup: %v", err)
	}
	return err == nil
}

// dump returns every key and value in the physical backend.
func (h *harness) dump() map[string][]byte {
	h.t.Helper()
	out := map[string][]byte{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := h.be.List(h.ctx, prefix)
		if err != nil {
			h.t.Fatalf("List(%q): %v", prefix, err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
				continue
			}
			e, err := h.be.Get(h.ctx, prefix+k)
			if err != nil || e == nil {
				h.t.Fatalf("Get(%q): %v", prefix+k, err)
			}
			out[prefix+k] = e.Value
		}
	}
	walk("")
	return out
}

// countPrefix counts physical keys under prefix.
func (h *harness) countPrefix(prefix string) int {
	n := 0
	for k := range h.dump() {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}
