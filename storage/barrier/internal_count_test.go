package barrier

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

func unsealedInternal(t *testing.T) (*AESGCMBarrier, *inmem.Backend, []byte) {
	t.Helper()
	ctx := context.Background()
	phys := inmem.New()
	b := New(phys)
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	return b, phys, root
}

// TestPutFlushesEveryThreshold lowers the threshold to 10 and checks Puts
// persist the count once per 10 encryptions, no more often.
func TestPutFlushesEveryThreshold(t *testing.T) {
	ctx := context.Background()
	b, phys, root := unsealedInternal(t)
	b.flushEvery = 10
	stored := func() uint64 {
		other := New(phys)
		if err := other.Unseal(ctx, root); err != nil {
			t.Fatal(err)
		}
		return other.keyring.Load().active().encryptions.Load()
	}
	for i := 1; i <= 25; i++ {
		if err := b.Put(ctx, &storage.Entry{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		want := uint64(i / 10 * 10)
		if got := stored(); got != want {
			t.Fatalf("after %d Puts the stored count is %d, want %d", i, got, want)
		}
	}
}

func TestRotationDueByOperations(t *testing.T) {
	b, _, _ := unsealedInternal(t)
	tk := b.keyring.Load().active()
	now := tk.installTime
	tk.encryptions.Store(MaxRotationOperations - 1)
	if due, reason := b.RotationDue(now); due {
		t.Fatalf("due one short of max_operations: %q", reason)
	}
	tk.encryptions.Store(MaxRotationOperations)
	due, reason := b.RotationDue(now)
	if !due || !strings.Contains(reason, "max_operations") {
		t.Fatalf("RotationDue at max_operations = %v, %q", due, reason)
	}
	cfg := DefaultRotationConfig()
	cfg.MaxOperations = MinRotationOperations
	if err := b.SetRotationConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tk.encryptions.Store(MinRotationOperations)
	if due, _ := b.RotationDue(now); !due {
		t.Fatal("not due at a lowered max_operations")
	}
}

// TestKeyringWithoutRotationConfig opens a keyring as written before
// rotation configs existed: it gets the default config.
func TestKeyringWithoutRotationConfig(t *testing.T) {
	ctx := context.Background()
	b, phys, root := unsealedInternal(t)
	kr := b.keyring.Load()
	legacy, err := json.Marshal(keyringJSON{ActiveTerm: kr.activeTerm, RootKey: kr.rootKey,
		Keys: []keyJSON{{Term: 1, Value: kr.active().key, InstallTime: kr.active().installTime}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(legacy), "rotation") {
		t.Fatal("legacy keyring has a rotation config")
	}
	aead, _ := newAEAD(root)
	blob, err := encrypt(aead, rootTerm, KeyringPath, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if err := phys.Put(ctx, &storage.Entry{Key: KeyringPath, Value: blob}); err != nil {
		t.Fatal(err)
	}
	other := New(phys)
	if err := other.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if got, _ := other.RotationConfig(); got != DefaultRotationConfig() {
		t.Fatalf("RotationConfig of a legacy keyring = %+v", got)
	}
}
