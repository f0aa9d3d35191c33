package kv_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/kv"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/internal/testutil"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// clock is a settable time source (testutil.Clock).
type clock = testutil.Clock

// harness is one kv mount over an inmem store, seen through a view as
// core would mount it.
type harness struct {
	t     testing.TB
	b     *kv.Backend
	phys  *inmem.Backend
	store logical.Storage
	clock *clock
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	phys := inmem.New()
	return newHarnessOn(t, phys, storage.NewView(phys, "logical/kv-test/"))
}

func newHarnessOn(t testing.TB, phys *inmem.Backend, store logical.Storage) *harness {
	t.Helper()
	c := testutil.NewClock(time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC))
	b, err := kv.New(context.Background(), &logical.BackendConfig{
		MountPoint: "secret/", Config: map[string]string{"version": "2"}, Storage: store,
	}, kv.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, b: b, phys: phys, store: store, clock: c}
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store, MountPoint: "secret/", MountType: "kv",
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

// put writes data to data/<key> and returns the new version.
func (h *harness) put(key string, data map[string]any) int {
	h.t.Helper()
	resp := h.must(logical.UpdateOperation, "data/"+key, map[string]any{"data": data})
	return resp.Data["version"].(int)
}

// metadata reads metadata/<key>.
func (h *harness) metadata(key string) map[string]any {
	h.t.Helper()
	return h.must(logical.ReadOperation, "metadata/"+key, nil).Data
}

// wantErr fails unless err matches target (and, for a non-empty msg, the
// error message contains it).
func wantErr(t testing.TB, err, target error, msg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if msg != "" && (err == nil || !strings.Contains(err.Error(), msg)) {
		t.Fatalf("err = %q, want it to mention %q", err, msg)
	}
}

// countingStore counts Gets, to prove reads touch a bounded number of
// entries. It forwards Transaction when transactional is set, and hides
// it otherwise (to exercise the ordered-writes fallback).
type countingStore struct {
	inner logical.Storage
	gets  atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) (*storage.Entry, error) {
	c.gets.Add(1)
	return c.inner.Get(ctx, key)
}

func (c *countingStore) Put(ctx context.Context, e *storage.Entry) error { return c.inner.Put(ctx, e) }

func (c *countingStore) Delete(ctx context.Context, key string) error {
	return c.inner.Delete(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]string, error) {
	return c.inner.List(ctx, prefix)
}

type txCountingStore struct{ *countingStore }

func (c txCountingStore) Transaction(ctx context.Context, ops []*storage.Op) error {
	return c.inner.(storage.Transactional).Transaction(ctx, ops)
}
