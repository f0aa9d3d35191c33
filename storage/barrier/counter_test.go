package barrier_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// countingBackend counts physical writes per key.
type countingBackend struct {
	*inmem.Backend
	mu     sync.Mutex
	writes map[string]int
}

func newCountingBackend() *countingBackend {
	return &countingBackend{Backend: inmem.New(), writes: map[string]int{}}
}

func (c *countingBackend) Put(ctx context.Context, e *storage.Entry) error {
	c.count(e.Key)
	return c.Backend.Put(ctx, e)
}

func (c *countingBackend) Transaction(ctx context.Context, ops []*storage.Op) error {
	for _, op := range ops {
		c.count(op.Entry.Key)
	}
	return c.Backend.Transaction(ctx, ops)
}

func (c *countingBackend) count(key string) {
	c.mu.Lock()
	c.writes[key]++
	c.mu.Unlock()
}

func (c *countingBackend) written(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes[key]
}

func unsealed(t *testing.T, phys storage.Backend, root []byte) *barrier.AESGCMBarrier {
	t.Helper()
	b := barrier.New(phys)
	if err := b.Unseal(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	return b
}

func encryptions(t *testing.T, b *barrier.AESGCMBarrier) uint64 {
	t.Helper()
	st, err := b.KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	return st.Encryptions
}

func putN(t *testing.T, b storage.Backend, n int) {
	t.Helper()
	for i := range n {
		put(t, b, fmt.Sprintf("data/%d", i%50), "v")
	}
}

// TestEncryptionCountNotWrittenPerPut checks the count is persisted only by
// Flush (or a large threshold), never by an ordinary Put, and that a Flush
// with nothing new writes nothing.
func TestEncryptionCountNotWrittenPerPut(t *testing.T) {
	ctx := context.Background()
	phys := newCountingBackend()
	b := barrier.New(phys)
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	putN(t, b, 1000)
	if n := phys.written(barrier.EncryptionsPath); n != 0 {
		t.Fatalf("1000 Puts wrote the count %d times", n)
	}
	if got := encryptions(t, b); got != 1000 {
		t.Fatalf("Encryptions = %d, want 1000", got)
	}
	for range 3 {
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := phys.written(barrier.EncryptionsPath); n != 1 {
		t.Fatalf("three Flushes with one change wrote the count %d times, want 1", n)
	}
}

// TestEncryptionCountContinuesOnNextActive: the active node's persisted
// count is where a fresh node, and a standby that reloads, continue from;
// the standby keeps its own encryptions on top.
func TestEncryptionCountContinuesOnNextActive(t *testing.T) {
	ctx := context.Background()
	active, phys, root := newBarrier(t)
	standby := unsealed(t, phys, root)
	if _, err := standby.Encrypt("core/raft/autopilot/echo/n2", []byte("echo")); err != nil {
		t.Fatal(err)
	}
	putN(t, active, 120)
	if err := active.Transaction(ctx, []*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "tx/a", Value: []byte("1")}},
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "tx/b", Value: []byte("2")}},
		{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "tx/c"}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, active); got != 122 {
		t.Fatalf("active Encryptions = %d, want 122 (120 Puts + 2 transaction puts)", got)
	}
	if err := active.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, unsealed(t, phys, root)); got != 122 {
		t.Fatalf("fresh node starts at %d, want the persisted 122", got)
	}
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, standby); got != 123 {
		t.Fatalf("reloaded standby at %d, want 122 persisted + 1 of its own", got)
	}
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, standby); got != 123 {
		t.Fatalf("second reload changed the count to %d", got)
	}
	putN(t, standby, 7) // the standby is active now
	if err := standby.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := active.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, active); got != 130 {
		t.Fatalf("old active after reload at %d, want 130", got)
	}
}

func TestRotateResetsEncryptionCount(t *testing.T) {
	ctx := context.Background()
	b, phys, root := newBarrier(t)
	putN(t, b, 10)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, b); got != 0 {
		t.Fatalf("Encryptions after Rotate = %d, want 0", got)
	}
	// The stored count is for term 1: a node unsealing now must not
	// charge it to term 2.
	if got := encryptions(t, unsealed(t, phys, root)); got != 0 {
		t.Fatalf("fresh node after Rotate starts at %d, want 0", got)
	}
	putN(t, b, 4)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, unsealed(t, phys, root)); got != 4 {
		t.Fatalf("fresh node starts at %d, want 4", got)
	}
}

// TestTamperedEncryptionCount: a stored count that does not authenticate
// fails Unseal and ReloadKeyring like any tampered value, rather than
// resetting the count silently.
func TestTamperedEncryptionCount(t *testing.T) {
	tests := map[string]func(ctx context.Context, phys *inmem.Backend) error{
		"flipped byte": func(ctx context.Context, phys *inmem.Backend) error {
			e, _ := phys.Get(ctx, barrier.EncryptionsPath)
			e.Value[len(e.Value)-1] ^= 1
			return phys.Put(ctx, e)
		},
		"moved value": func(ctx context.Context, phys *inmem.Backend) error {
			e, _ := phys.Get(ctx, "data/0")
			return phys.Put(ctx, &storage.Entry{Key: barrier.EncryptionsPath, Value: e.Value})
		},
	}
	for name, tamper := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, phys, root := newBarrier(t)
			putN(t, b, 3)
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tamper(ctx, phys); err != nil {
				t.Fatal(err)
			}
			if err := barrier.New(phys).Unseal(ctx, root); !errors.Is(err, barrier.ErrDecrypt) {
				t.Fatalf("Unseal over a tampered count = %v, want ErrDecrypt", err)
			}
			if err := b.ReloadKeyring(ctx); !errors.Is(err, barrier.ErrDecrypt) {
				t.Fatalf("ReloadKeyring over a tampered count = %v, want ErrDecrypt", err)
			}
			if got := mustGet(t, b, "data/1"); got != "v" {
				t.Fatal("failed reload broke the live keyring")
			}
		})
	}
}

// TestConcurrentPutsCountEveryEncryption runs writers and flushers at once
// (run with -race): no encryption is lost or counted twice.
func TestConcurrentPutsCountEveryEncryption(t *testing.T) {
	ctx := context.Background()
	b, phys, root := newBarrier(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 250 {
				if err := b.Put(ctx, &storage.Entry{Key: fmt.Sprintf("w%d/%d", w, i%5), Value: []byte("x")}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := b.Flush(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if got := encryptions(t, b); got != 1000 {
		t.Fatalf("Encryptions = %d, want 1000", got)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := encryptions(t, unsealed(t, phys, root)); got != 1000 {
		t.Fatalf("persisted count = %d, want 1000", got)
	}
	if bytes.Contains(raw(t, phys, barrier.EncryptionsPath), []byte{0, 0, 0, 0, 0, 0, 3, 0xe8}) {
		t.Fatal("count stored in clear")
	}
}
