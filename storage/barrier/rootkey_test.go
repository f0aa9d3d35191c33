package barrier_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// captureRoot is a RootKeyHook that records the keys it is given and adds
// one marker write to the rotation's transaction.
type captureRoot struct {
	old, new [][]byte
}

const hookMarker = "seal/wrapped-root"

func (c *captureRoot) hook(_ context.Context, oldRoot, newRoot []byte) ([]*storage.Op, error) {
	c.old = append(c.old, bytes.Clone(oldRoot))
	c.new = append(c.new, bytes.Clone(newRoot))
	return []*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: hookMarker, Value: bytes.Clone(newRoot)}}}, nil
}

func (c *captureRoot) latest() []byte { return c.new[len(c.new)-1] }

func TestRotateRootKey(t *testing.T) {
	ctx := context.Background()
	b, phys, oldRoot := newBarrier(t)
	put(t, b, "k", "v")
	before, _ := b.KeyStatus()
	var c captureRoot
	if err := b.RotateRootKey(ctx, c.hook); err != nil {
		t.Fatal(err)
	}
	if len(c.old) != 1 || !bytes.Equal(c.old[0], oldRoot) {
		t.Fatal("hook was not given the current root key")
	}
	newRoot := c.latest()
	if len(newRoot) != barrier.KeySize || bytes.Equal(newRoot, oldRoot) {
		t.Fatalf("new root key %x is short or unchanged", newRoot)
	}
	if got := raw(t, phys, hookMarker); !bytes.Equal(got, newRoot) {
		t.Fatal("hook's operation was not committed")
	}
	after, err := b.KeyStatus()
	if err != nil || after.Term != before.Term || after.Encryptions != before.Encryptions {
		t.Fatalf("KeyStatus changed by a root rotation: %+v -> %+v, %v", before, after, err)
	}
	if mustGet(t, b, "k") != "v" {
		t.Fatal("rotating barrier lost data")
	}
	put(t, b, "k2", "v2")

	fresh := barrier.New(phys)
	if err := fresh.Unseal(ctx, oldRoot); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("Unseal with the old root key = %v, want ErrBadRootKey", err)
	}
	if err := fresh.Unseal(ctx, newRoot); err != nil {
		t.Fatalf("Unseal with the new root key: %v", err)
	}
	if mustGet(t, fresh, "k") != "v" || mustGet(t, fresh, "k2") != "v2" {
		t.Fatal("fresh barrier read wrong values")
	}
	if err := b.RotateRootKey(ctx); err != nil {
		t.Fatalf("RotateRootKey without hooks: %v", err)
	}
	if err := fresh.VerifyRootKey(ctx, newRoot); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("second rotation left the first new key valid: %v", err)
	}
}

// TestStandbyReloadsRotatedRootKey simulates a standby that unsealed before
// the active node rotated terms and root keys in various orders: it still
// holds its old keyring and root key, and must pick everything up in
// ReloadKeyring, read all data, and write data the active node reads.
func TestStandbyReloadsRotatedRootKey(t *testing.T) {
	tests := map[string][]string{
		"root":                 {"root"},
		"term then root":       {"term", "root"},
		"root then term":       {"root", "term"},
		"root, term, root":     {"root", "term", "root"},
		"three terms and root": {"term", "term", "term", "root"},
		"set root key":         {"set"},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			active, phys, root := newBarrier(t)
			standby := barrier.New(phys)
			if err := standby.Unseal(ctx, root); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"before": "0"}
			put(t, active, "before", "0")
			var c captureRoot
			for i, step := range steps {
				var err error
				switch step {
				case "root":
					err = active.RotateRootKey(ctx, c.hook)
				case "term":
					_, err = active.Rotate(ctx)
				case "set":
					key, _ := active.GenerateKey()
					err = active.SetRootKey(ctx, key)
				}
				if err != nil {
					t.Fatalf("step %d (%s): %v", i, step, err)
				}
				key := "after/" + step + string(rune('0'+i))
				want[key] = step
				put(t, active, key, step)
			}
			if err := standby.ReloadKeyring(ctx); err != nil {
				t.Fatalf("standby ReloadKeyring: %v", err)
			}
			for k, v := range want {
				if got := mustGet(t, standby, k); got != v {
					t.Fatalf("standby Get(%q) = %q, want %q", k, got, v)
				}
			}
			put(t, standby, "from-standby", "s")
			if mustGet(t, active, "from-standby") != "s" {
				t.Fatal("active cannot read what the reloaded standby wrote")
			}
			as, _ := active.KeyStatus()
			ss, _ := standby.KeyStatus()
			if as.Term != ss.Term {
				t.Fatalf("standby term %d, active term %d", ss.Term, as.Term)
			}
			if len(c.new) > 0 {
				if err := barrier.New(phys).VerifyRootKey(ctx, c.latest()); err != nil {
					t.Fatalf("latest rotated root key does not open the keyring: %v", err)
				}
			}
		})
	}
}

// TestReloadRejectsBadRootKeyRecord removes or damages the root key record
// after a rotation: the standby's reload must fail with ErrBadRootKey (the
// core then seals that node) rather than load anything.
func TestReloadRejectsBadRootKeyRecord(t *testing.T) {
	tests := map[string]func(ctx context.Context, phys *inmem.Backend) error{
		"record deleted": func(ctx context.Context, phys *inmem.Backend) error {
			return phys.Delete(ctx, barrier.RootKeyPath)
		},
		"record altered": func(ctx context.Context, phys *inmem.Backend) error {
			e, _ := phys.Get(ctx, barrier.RootKeyPath)
			for i := headerLen; i < len(e.Value); i += 65 {
				e.Value[i] ^= 1
			}
			return phys.Put(ctx, e)
		},
		"record truncated": func(ctx context.Context, phys *inmem.Backend) error {
			e, _ := phys.Get(ctx, barrier.RootKeyPath)
			return phys.Put(ctx, &storage.Entry{Key: e.Key, Value: e.Value[:len(e.Value)-1]})
		},
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			active, phys, root := newBarrier(t)
			standby := barrier.New(phys)
			if err := standby.Unseal(ctx, root); err != nil {
				t.Fatal(err)
			}
			if err := active.RotateRootKey(ctx); err != nil {
				t.Fatal(err)
			}
			if err := damage(ctx, phys); err != nil {
				t.Fatal(err)
			}
			if err := standby.ReloadKeyring(ctx); !errors.Is(err, barrier.ErrBadRootKey) {
				t.Fatalf("ReloadKeyring = %v, want ErrBadRootKey", err)
			}
			if standby.Sealed() {
				t.Fatal("failed reload sealed the barrier (the core decides that)")
			}
		})
	}
}

func TestRotateRootKeyFailureChangesNothing(t *testing.T) {
	errHook := errors.New("hook refused")
	tests := []struct {
		name    string
		failKey string
		hook    barrier.RootKeyHook
		want    error
	}{
		{"hook error", "", func(context.Context, []byte, []byte) ([]*storage.Op, error) { return nil, errHook }, errHook},
		{"keyring write fails", barrier.KeyringPath, (&captureRoot{}).hook, errInjected},
		{"hook write fails", hookMarker, (&captureRoot{}).hook, errInjected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			phys := &failingBackend{Backend: inmem.New()}
			b := barrier.New(phys)
			root, _ := b.GenerateKey()
			if err := b.Initialize(ctx, root); err != nil {
				t.Fatal(err)
			}
			if err := b.Unseal(ctx, root); err != nil {
				t.Fatal(err)
			}
			put(t, b, "k", "v")
			phys.fail(tc.failKey)
			if err := b.RotateRootKey(ctx, tc.hook); !errors.Is(err, tc.want) {
				t.Fatalf("RotateRootKey = %v, want %v", err, tc.want)
			}
			for _, k := range []string{barrier.RootKeyPath, hookMarker} {
				if e, _ := phys.Get(ctx, k); e != nil {
					t.Fatalf("failed rotation wrote %s", k)
				}
			}
			phys.fail("")
			if err := barrier.New(phys).Unseal(ctx, root); err != nil {
				t.Fatalf("old root key no longer opens the keyring: %v", err)
			}
			put(t, b, "k", "v2") // the barrier is still usable
			if err := b.ReloadKeyring(ctx); err != nil {
				t.Fatalf("reload after failed rotation: %v", err)
			}
		})
	}
}

func TestRotateRootKeyWithHooksNeedsTransactions(t *testing.T) {
	ctx := context.Background()
	phys := plainBackend{inmem.New()}
	b := barrier.New(phys)
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	var c captureRoot
	if err := b.RotateRootKey(ctx, c.hook); !errors.Is(err, barrier.ErrNotTransactional) {
		t.Fatalf("RotateRootKey with a hook over a plain backend = %v, want ErrNotTransactional", err)
	}
	if err := barrier.New(phys).VerifyRootKey(ctx, root); err != nil {
		t.Fatalf("refused rotation changed the root key: %v", err)
	}
	if err := b.RotateRootKey(ctx); err != nil {
		t.Fatalf("RotateRootKey without hooks over a plain backend: %v", err)
	}
	if err := barrier.New(phys).VerifyRootKey(ctx, root); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("rotation without hooks kept the old root key: %v", err)
	}
}

func TestReservedKeys(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newBarrier(t)
	if err := b.RotateRootKey(ctx); err != nil {
		t.Fatal(err)
	}
	put(t, b, "core/mine", "x")
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{barrier.KeyringPath, barrier.RootKeyPath, barrier.EncryptionsPath} {
		t.Run(key, func(t *testing.T) {
			ops := map[string]error{}
			_, ops["Get"] = b.Get(ctx, key)
			ops["Put"] = b.Put(ctx, &storage.Entry{Key: key, Value: []byte("x")})
			ops["Delete"] = b.Delete(ctx, key)
			ops["Transaction"] = b.Transaction(ctx, []*storage.Op{{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}})
			_, ops["Encrypt"] = b.Encrypt(key, []byte("x"))
			for op, err := range ops {
				if !errors.Is(err, barrier.ErrReservedKey) {
					t.Errorf("%s(%q) = %v, want ErrReservedKey", op, key, err)
				}
			}
		})
	}
	got, err := b.List(ctx, "core/")
	if err != nil || !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("List(core/) = %q, %v; want only the caller's key", got, err)
	}
}

// TestConcurrentRootKeyRotation rotates root keys and terms while writers
// run and a standby reloads (run with -race): every read returns what was
// written and the standby ends on the active node's keyring.
func TestConcurrentRootKeyRotation(t *testing.T) {
	ctx := context.Background()
	active, phys, root := newBarrier(t)
	standby := unsealed(t, phys, root)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := range 100 {
				key, val := fmt.Sprintf("w%d/%d", w, i%7), fmt.Sprintf("%d", i)
				if err := active.Put(ctx, &storage.Entry{Key: key, Value: []byte(val)}); err != nil {
					t.Error(err)
					return
				}
				if e, err := active.Get(ctx, key); err != nil || string(e.Value) != val {
					t.Errorf("Get(%q) = %v, %v", key, e, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 10 {
			var err error
			if i%2 == 0 {
				err = active.RotateRootKey(ctx)
			} else {
				_, err = active.Rotate(ctx)
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for range 10 {
			if err := standby.ReloadKeyring(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	as, _ := active.KeyStatus()
	ss, _ := standby.KeyStatus()
	if as.Term != 6 || ss.Term != as.Term {
		t.Fatalf("terms: active %d, standby %d; want 6", as.Term, ss.Term)
	}
	if got := mustGet(t, standby, "w0/1"); got == "" {
		t.Fatal("standby read nothing")
	}
}
