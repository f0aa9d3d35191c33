package seal_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
	"github.com/secretumvault/secretumvault/storage/seal"
	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

// fixture is an initialized seal and barrier over one physical store, with
// a secret written and the barrier sealed again.
type fixture struct {
	phys    storage.Backend
	seal    *seal.Shamir
	barrier *barrier.AESGCMBarrier
	root    []byte
	shares  [][]byte
}

// newFixture initializes a seal with Init over inmem.
func newFixture(t *testing.T, shares, threshold int) *fixture {
	t.Helper()
	return initFixture(t, inmem.New(), shares, threshold)
}

// initFixture initializes a seal with Init over phys.
func initFixture(t *testing.T, phys storage.Backend, shares, threshold int) *fixture {
	t.Helper()
	f := &fixture{phys: phys, seal: seal.New(phys)}
	var err error
	f.root, f.shares, err = f.seal.Init(context.Background(), seal.Config{Type: seal.TypeShamir, SecretShares: shares, SecretThreshold: threshold})
	if err != nil {
		t.Fatal(err)
	}
	f.initBarrier(t)
	return f
}

// newLegacyFixture writes what the seal wrote before unseal keys were
// separate from the root key: the root key split into the shares and the
// config, nothing wrapped.
func newLegacyFixture(t *testing.T, phys storage.Backend, shares, threshold int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{phys: phys, seal: seal.New(phys)}
	var err error
	if f.root, err = barrier.New(phys).GenerateKey(); err != nil {
		t.Fatal(err)
	}
	if shares == 1 {
		f.shares = [][]byte{append([]byte(nil), f.root...)}
	} else {
		if f.shares, err = shamir.Split(f.root, shares, threshold); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := json.Marshal(seal.Config{Type: seal.TypeShamir, SecretShares: shares, SecretThreshold: threshold})
	if err := phys.Put(ctx, &storage.Entry{Key: seal.ConfigPath, Value: cfg}); err != nil {
		t.Fatal(err)
	}
	f.initBarrier(t)
	return f
}

func (f *fixture) initBarrier(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	f.barrier = barrier.New(f.phys)
	if err := f.barrier.Initialize(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	if err := f.barrier.Unseal(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	if err := f.barrier.Put(ctx, &storage.Entry{Key: "secret/db", Value: []byte("s3cr3t")}); err != nil {
		t.Fatal(err)
	}
	f.barrier.Seal()
}

// unsealWith runs shares through a fresh Unsealer and a fresh barrier over
// the fixture's storage, as a restarting node would, and checks the data.
func (f *fixture) unsealWith(t *testing.T, shares [][]byte) *barrier.AESGCMBarrier {
	t.Helper()
	ctx := context.Background()
	u := f.seal.NewUnsealer()
	var key []byte
	for i, sh := range shares {
		var err error
		if key, err = u.Add(ctx, sh); err != nil {
			t.Fatalf("Add(share %d): %v", i, err)
		}
	}
	if key == nil {
		t.Fatalf("no root key after %d shares", len(shares))
	}
	b := barrier.New(f.phys)
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatalf("barrier.Unseal: %v", err)
	}
	e, err := b.Get(ctx, "secret/db")
	if err != nil || e == nil || string(e.Value) != "s3cr3t" {
		t.Fatalf("Get after unseal = %v, %v", e, err)
	}
	return b
}

// addAll gives shares to a fresh Unsealer and returns the last result.
func (f *fixture) addAll(t *testing.T, shares [][]byte) ([]byte, error) {
	t.Helper()
	u := f.seal.NewUnsealer()
	for i, sh := range shares {
		key, err := u.Add(context.Background(), sh)
		if err != nil || i == len(shares)-1 {
			return key, err
		}
	}
	return nil, nil
}

// newRaftStore returns a bootstrapped single-node raft + bbolt store.
func newRaftStore(t *testing.T) *raftstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := raftstore.DefaultConfig()
	cfg.DataDir, cfg.NodeID, cfg.BindAddr = t.TempDir(), "seal-test", "127.0.0.1:0"
	st, err := raftstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// plainBackend hides inmem's Transaction method.
type plainBackend struct{ storage.Backend }

var errInjected = errors.New("injected failure")

// failingTx is a transactional backend whose writes touching one key fail
// on demand, writing nothing.
type failingTx struct {
	*inmem.Backend
	mu      sync.Mutex
	failKey string
}

func (f *failingTx) fail(key string) {
	f.mu.Lock()
	f.failKey = key
	f.mu.Unlock()
}

func (f *failingTx) Put(ctx context.Context, e *storage.Entry) error {
	return f.Transaction(ctx, []*storage.Op{{Kind: storage.OpPut, Entry: e}})
}

func (f *failingTx) Transaction(ctx context.Context, ops []*storage.Op) error {
	f.mu.Lock()
	failKey := f.failKey
	f.mu.Unlock()
	for _, op := range ops {
		if op.Entry.Key == failKey {
			return errInjected
		}
	}
	return f.Backend.Transaction(ctx, ops)
}
