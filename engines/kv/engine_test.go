package kv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/kv"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

func TestFactory(t *testing.T) {
	tests := []struct {
		name    string
		conf    *logical.BackendConfig
		wantErr error
	}{
		{"version 2", &logical.BackendConfig{Config: map[string]string{"version": "2"}}, nil},
		{"no version", &logical.BackendConfig{}, nil},
		{"nil config", nil, nil},
		{"version 1", &logical.BackendConfig{Config: map[string]string{"version": "1"}}, kv.ErrUnsupportedVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f logical.Factory = kv.Factory
			b, err := f(context.Background(), tc.conf)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Factory() error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && b == nil {
				t.Fatal("Factory returned a nil backend")
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	h.put("k", map[string]any{"a": "b"})
	tests := []struct {
		name    string
		op      logical.Operation
		path    string
		data    map[string]any
		wantErr error
		field   string
	}{
		{"empty path", logical.UpdateOperation, "data/", map[string]any{"data": map[string]any{}}, logical.ErrInvalidRequest, "path"},
		{"dotdot", logical.UpdateOperation, "data/a/../b", map[string]any{"data": map[string]any{}}, logical.ErrInvalidRequest, "path"},
		{"leading dotdot", logical.ReadOperation, "data/../k", nil, logical.ErrInvalidRequest, "path"},
		{"trailing slash", logical.UpdateOperation, "data/a/", map[string]any{"data": map[string]any{}}, logical.ErrInvalidRequest, "path"},
		{"double slash", logical.ReadOperation, "metadata/a//b", nil, logical.ErrInvalidRequest, "path"},
		{"NUL", logical.ReadOperation, "data/a\x00b", nil, logical.ErrInvalidRequest, "path"},
		{"dotdot in destroy", logical.UpdateOperation, "destroy/..", map[string]any{"versions": []any{1}}, logical.ErrInvalidRequest, "path"},
		{"no data", logical.UpdateOperation, "data/k", map[string]any{}, logical.ErrInvalidRequest, "data"},
		{"data not an object", logical.UpdateOperation, "data/k", map[string]any{"data": "secret"}, logical.ErrInvalidRequest, "data"},
		{"options not an object", logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{}, "options": []any{1}}, logical.ErrInvalidRequest, "options"},
		{"unknown path", logical.ReadOperation, "nope/k", nil, logical.ErrUnsupportedPath, ""},
		{"list on data", logical.ListOperation, "data/k", nil, logical.ErrUnsupportedOperation, ""},
		{"delete on config", logical.DeleteOperation, "config", nil, logical.ErrUnsupportedOperation, ""},
		{"read on destroy", logical.ReadOperation, "destroy/k", nil, logical.ErrUnsupportedOperation, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(tc.op, tc.path, tc.data)
			wantErr(t, err, tc.wantErr, "")
			var ire *logical.InvalidRequestError
			if tc.field != "" && (!errors.As(err, &ire) || ire.Field != tc.field) {
				t.Fatalf("err = %v, want field %q", err, tc.field)
			}
		})
	}
	if got := currentVersion(h, "k"); got != 1 {
		t.Fatalf("bad requests changed the key: current_version %d", got)
	}
}

func TestExistenceCheck(t *testing.T) {
	h := newHarness(t)
	h.put("there", map[string]any{"a": "b"})
	tests := []struct {
		name       string
		path       string
		wantExists bool
		wantOK     bool
		wantErr    error
	}{
		{"data exists", "data/there", true, true, nil},
		{"data missing", "data/absent", false, true, nil},
		{"metadata exists", "metadata/there", true, true, nil},
		{"config has no check", "config", false, false, nil},
		{"bad path", "data/../x", false, false, logical.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exists, ok, err := h.b.ExistenceCheck(context.Background(), &logical.Request{
				Operation: logical.UpdateOperation, Path: tc.path, Storage: h.store,
			})
			if !errors.Is(err, tc.wantErr) || exists != tc.wantExists || ok != tc.wantOK {
				t.Fatalf("ExistenceCheck = %v, %v, %v", exists, ok, err)
			}
		})
	}
}

// TestLargeIntegersKeepPrecision: JSON numbers round-trip exactly.
func TestLargeIntegersKeepPrecision(t *testing.T) {
	h := newHarness(t)
	h.put("n", map[string]any{"big": int64(9007199254740993)})
	got := h.must(logical.ReadOperation, "data/n", nil).Data["data"].(map[string]any)["big"]
	if fmt.Sprint(got) != "9007199254740993" {
		t.Fatalf("big = %v", got)
	}
}

// TestReadTouchesTwoEntries proves a read decrypts the key's metadata and
// the one version asked for, however many versions the key has.
func TestReadTouchesTwoEntries(t *testing.T) {
	phys := inmem.New()
	cs := &countingStore{inner: storage.NewView(phys, "logical/x/")}
	h := newHarnessOn(t, phys, txCountingStore{cs})
	h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": 50})
	for i := 0; i < 20; i++ {
		h.put("k", map[string]any{"i": i})
	}
	for _, v := range []int{0, 1, 20} {
		cs.gets.Store(0)
		h.must(logical.ReadOperation, "data/k", map[string]any{"version": v})
		if n := cs.gets.Load(); n != 2 {
			t.Fatalf("reading version %d did %d storage gets, want 2", v, n)
		}
	}
}

// TestNonTransactionalStorage exercises the ordered-writes fallback.
func TestNonTransactionalStorage(t *testing.T) {
	phys := inmem.New()
	cs := &countingStore{inner: storage.NewView(phys, "logical/x/")}
	if _, ok := any(cs).(storage.Transactional); ok {
		t.Fatal("test store should not be transactional")
	}
	h := newHarnessOn(t, phys, cs)
	h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": 2})
	for i := 0; i < 4; i++ {
		h.put("k", map[string]any{"i": i})
	}
	h.must(logical.UpdateOperation, "destroy/k", map[string]any{"versions": []any{3}})
	if n := countVersionEntries(t, h); n != 1 {
		t.Fatalf("%d version entries, want 1", n)
	}
	h.must(logical.DeleteOperation, "metadata/k", nil)
	if n := countVersionEntries(t, h); n != 0 {
		t.Fatalf("%d version entries after metadata delete, want 0", n)
	}
}

func TestConcurrentWrites(t *testing.T) {
	const writers, each = 8, 25
	h := newHarness(t)
	h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": writers * each})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Half the writers use check-and-set, retrying on a lost race.
				for {
					data := map[string]any{"data": map[string]any{"w": w, "i": i}}
					if w%2 == 0 {
						data["options"] = map[string]any{"cas": currentVersion(h, "shared")}
					}
					_, err := h.do(logical.UpdateOperation, "data/shared", data)
					if err == nil {
						break
					}
					if w%2 == 1 || !errors.Is(err, logical.ErrInvalidRequest) {
						errs <- err
						return
					}
				}
				if _, err := h.do(logical.ReadOperation, "data/shared", nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	meta := h.metadata("shared")
	if meta["current_version"] != writers*each || len(meta["versions"].(map[string]any)) != writers*each {
		t.Fatalf("current_version = %v with %d versions, want %d", meta["current_version"], len(meta["versions"].(map[string]any)), writers*each)
	}
	if n := countVersionEntries(t, h); n != writers*each {
		t.Fatalf("%d version entries, want %d", n, writers*each)
	}
}

// TestCorruptMetadata: garbage in a metadata entry is an ErrCorrupt, not
// a panic or a silently empty key.
func TestCorruptMetadata(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"json from another format", []byte(`{"current_version":1}`)},
		{"truncated", []byte{1, 0, 2}},
		{"huge count", []byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if err := h.store.Put(context.Background(), &storage.Entry{Key: "metadata/k", Value: tc.value}); err != nil {
				t.Fatal(err)
			}
			for _, op := range []logical.Operation{logical.ReadOperation, logical.UpdateOperation} {
				_, err := h.do(op, "data/k", map[string]any{"data": map[string]any{}})
				if !errors.Is(err, kv.ErrCorrupt) {
					t.Fatalf("%s: err = %v, want ErrCorrupt", op, err)
				}
			}
		})
	}
}

// FuzzMetadataEntry feeds arbitrary bytes as a key's metadata entry
// through every operation: the engine must never panic.
func FuzzMetadataEntry(f *testing.F) {
	seed := newHarness(f)
	seed.put("k", map[string]any{"a": "b"})
	seed.must(logical.UpdateOperation, "metadata/k", map[string]any{"custom_metadata": map[string]any{"x": "y"}})
	e, err := seed.store.Get(context.Background(), "metadata/k")
	if err != nil || e == nil {
		f.Fatal(err)
	}
	f.Add(e.Value)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, value []byte) {
		h := newHarness(t)
		if len(value) == 0 {
			return
		}
		if err := h.store.Put(context.Background(), &storage.Entry{Key: "metadata/k", Value: value}); err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			op   logical.Operation
			path string
			data map[string]any
		}{
			{logical.ReadOperation, "data/k", nil},
			{logical.ReadOperation, "metadata/k", nil},
			{logical.UpdateOperation, "data/k", map[string]any{"data": map[string]any{"a": "b"}}},
			{logical.UpdateOperation, "delete/k", map[string]any{"versions": []any{1, 2}}},
			{logical.UpdateOperation, "metadata/k", map[string]any{"max_versions": 1}},
			{logical.DeleteOperation, "metadata/k", nil},
		} {
			_, _ = h.do(r.op, r.path, r.data)
		}
	})
}
