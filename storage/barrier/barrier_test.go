package barrier_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// Header layout of a stored value, restated here so the tests check the
// documented format rather than the implementation's constants.
const (
	versionLen = 1
	termLen    = 4
	nonceLen   = 12
	headerLen  = versionLen + termLen + nonceLen
	tagLen     = 16
)

func newBarrier(t testing.TB) (*barrier.AESGCMBarrier, *inmem.Backend, []byte) {
	t.Helper()
	ctx := context.Background()
	phys := inmem.New()
	b := barrier.New(phys)
	root, err := b.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if !b.Sealed() {
		t.Fatal("barrier unsealed by Initialize")
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	return b, phys, root
}

func put(t testing.TB, b storage.Backend, key, value string) {
	t.Helper()
	if err := b.Put(context.Background(), &storage.Entry{Key: key, Value: []byte(value)}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t testing.TB, b storage.Backend, key string) string {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e == nil {
		t.Fatalf("Get(%q): not found", key)
	}
	return string(e.Value)
}

func raw(t testing.TB, phys *inmem.Backend, key string) []byte {
	t.Helper()
	e, err := phys.Get(context.Background(), key)
	if err != nil || e == nil {
		t.Fatalf("physical Get(%q) = %v, %v", key, e, err)
	}
	return e.Value
}

func termOf(ciphertext []byte) uint32 {
	return binary.BigEndian.Uint32(ciphertext[versionLen:])
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	b, phys, _ := newBarrier(t)
	values := map[string]string{
		"empty":           "",
		"a/b/c":           "nested value",
		"logical/x/big":   strings.Repeat("0123456789abcdef", 4096),
		"binary/\xff\x01": "\x00\x01\x02",
	}
	for k, v := range values {
		put(t, b, k, v)
	}
	for k, v := range values {
		if got := mustGet(t, b, k); got != v {
			t.Fatalf("Get(%q) = %d bytes, want %d", k, len(got), len(v))
		}
		c := raw(t, phys, k)
		if len(c) != headerLen+len(v)+tagLen {
			t.Fatalf("stored %q is %d bytes, want %d", k, len(c), headerLen+len(v)+tagLen)
		}
		if c[0] != 1 || termOf(c) != 1 {
			t.Fatalf("stored %q header: version %d term %d", k, c[0], termOf(c))
		}
	}
	if e, err := b.Get(ctx, "missing"); e != nil || err != nil {
		t.Fatalf("Get(missing) = %v, %v; want nil, nil", e, err)
	}
	got, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// "core/" holds only the keyring, which List hides from the prefix
	// listing below; the root listing still shows the directory.
	if want := []string{"a/", "binary/", "core/", "empty", "logical/"}; !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if err := b.Delete(ctx, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if e, _ := phys.Get(ctx, "a/b/c"); e != nil {
		t.Fatal("Delete left the physical value")
	}
	if err := b.Put(ctx, &storage.Entry{Key: ""}); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("Put empty key = %v, want ErrInvalidKey", err)
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	b, phys, _ := newBarrier(t)
	put(t, b, "old", "written under term 1")
	st, err := b.KeyStatus()
	if err != nil || st.Term != 1 || st.Encryptions != 1 || st.InstallTime.IsZero() {
		t.Fatalf("KeyStatus = %+v, %v", st, err)
	}
	term, err := b.Rotate(ctx)
	if err != nil || term != 2 {
		t.Fatalf("Rotate = %d, %v; want 2", term, err)
	}
	put(t, b, "new", "written under term 2")
	if got := termOf(raw(t, phys, "old")); got != 1 {
		t.Fatalf("old value term = %d, want 1", got)
	}
	if got := termOf(raw(t, phys, "new")); got != 2 {
		t.Fatalf("new value term = %d, want 2", got)
	}
	if got := mustGet(t, b, "old"); got != "written under term 1" {
		t.Fatalf("old value = %q", got)
	}
	if got := mustGet(t, b, "new"); got != "written under term 2" {
		t.Fatalf("new value = %q", got)
	}
	st2, err := b.KeyStatus()
	if err != nil || st2.Term != 2 || st2.Encryptions != 1 || st2.InstallTime.Before(st.InstallTime) {
		t.Fatalf("KeyStatus after rotate = %+v, %v", st2, err)
	}
	if term, err := b.Rotate(ctx); err != nil || term != 3 {
		t.Fatalf("second Rotate = %d, %v; want 3", term, err)
	}
}

func TestWrongRootKey(t *testing.T) {
	ctx := context.Background()
	b, phys, root := newBarrier(t)
	put(t, b, "k", "v")
	b.Seal()
	other := barrier.New(phys)
	wrong := bytes.Clone(root)
	wrong[0] ^= 0x80
	if err := other.Unseal(ctx, wrong); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("Unseal with wrong key = %v, want ErrBadRootKey", err)
	}
	if !other.Sealed() {
		t.Fatal("barrier unsealed by a wrong key")
	}
	if _, err := other.Get(ctx, "k"); !errors.Is(err, barrier.ErrSealed) {
		t.Fatalf("Get after failed unseal = %v, want ErrSealed", err)
	}
	if err := other.Unseal(ctx, root[:16]); !errors.Is(err, barrier.ErrInvalidKeyLength) {
		t.Fatalf("Unseal with short key = %v, want ErrInvalidKeyLength", err)
	}
	if err := other.VerifyRootKey(ctx, wrong); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("VerifyRootKey(wrong) = %v", err)
	}
	if err := other.VerifyRootKey(ctx, root); err != nil || !other.Sealed() {
		t.Fatalf("VerifyRootKey(root) = %v, sealed %v; want nil, still sealed", err, other.Sealed())
	}
	if err := other.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, other, "k"); got != "v" {
		t.Fatalf("Get = %q", got)
	}
}

func TestSealedOperations(t *testing.T) {
	ctx := context.Background()
	fresh := barrier.New(inmem.New())
	resealed, _, _ := newBarrier(t)
	put(t, resealed, "k", "v")
	resealed.Seal()
	resealed.Seal() // idempotent
	for name, b := range map[string]*barrier.AESGCMBarrier{"never unsealed": fresh, "resealed": resealed} {
		t.Run(name, func(t *testing.T) {
			if !b.Sealed() {
				t.Fatal("Sealed() = false")
			}
			ops := map[string]error{}
			_, ops["Get"] = b.Get(ctx, "k")
			ops["Put"] = b.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")})
			ops["Delete"] = b.Delete(ctx, "k")
			_, ops["List"] = b.List(ctx, "")
			ops["Transaction"] = b.Transaction(ctx, []*storage.Op{{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "k"}}})
			_, ops["Rotate"] = b.Rotate(ctx)
			_, ops["KeyStatus"] = b.KeyStatus()
			ops["ReloadKeyring"] = b.ReloadKeyring(ctx)
			ops["SetRootKey"] = b.SetRootKey(ctx, make([]byte, barrier.KeySize))
			ops["RotateRootKey"] = b.RotateRootKey(ctx)
			ops["Flush"] = b.Flush(ctx)
			ops["SetRotationConfig"] = b.SetRotationConfig(ctx, barrier.DefaultRotationConfig())
			_, ops["RotationConfig"] = b.RotationConfig()
			for op, err := range ops {
				if !errors.Is(err, barrier.ErrSealed) {
					t.Errorf("%s while sealed = %v, want ErrSealed", op, err)
				}
			}
			if due, reason := b.RotationDue(time.Now().Add(1 << 62)); due || reason != "" {
				t.Errorf("RotationDue while sealed = %v, %q", due, reason)
			}
		})
	}
	if barrier.ErrSealed.Error() != "barrier: sealed" {
		t.Fatalf("ErrSealed = %q", barrier.ErrSealed)
	}
}

func TestInitialize(t *testing.T) {
	ctx := context.Background()
	b := barrier.New(inmem.New())
	if ok, err := b.Initialized(ctx); ok || err != nil {
		t.Fatalf("Initialized on empty store = %v, %v", ok, err)
	}
	root, _ := b.GenerateKey()
	if err := b.Unseal(ctx, root); !errors.Is(err, barrier.ErrNotInitialized) {
		t.Fatalf("Unseal before Initialize = %v, want ErrNotInitialized", err)
	}
	if err := b.Initialize(ctx, root[:31]); !errors.Is(err, barrier.ErrInvalidKeyLength) {
		t.Fatalf("Initialize with 31-byte key = %v", err)
	}
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Initialized(ctx); !ok || err != nil {
		t.Fatalf("Initialized = %v, %v", ok, err)
	}
	if err := b.Initialize(ctx, root); !errors.Is(err, barrier.ErrAlreadyInitialized) {
		t.Fatalf("second Initialize = %v, want ErrAlreadyInitialized", err)
	}
	k1, _ := b.GenerateKey()
	k2, _ := b.GenerateKey()
	if len(k1) != barrier.KeySize || bytes.Equal(k1, k2) {
		t.Fatal("GenerateKey returned short or repeated keys")
	}
}

func TestKeyringPersistsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	b, phys, root := newBarrier(t)
	put(t, b, "t1", "one")
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	put(t, b, "t2", "two")
	want, _ := b.KeyStatus()

	b2 := barrier.New(phys)
	if err := b2.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if mustGet(t, b2, "t1") != "one" || mustGet(t, b2, "t2") != "two" {
		t.Fatal("new instance read wrong values")
	}
	got, err := b2.KeyStatus()
	if err != nil || got.Term != want.Term || !got.InstallTime.Equal(want.InstallTime) {
		t.Fatalf("KeyStatus = %+v, %v; want term %d installed %v", got, err, want.Term, want.InstallTime)
	}
	put(t, b2, "t3", "three")
	if termOf(raw(t, phys, "t3")) != 2 {
		t.Fatal("new instance did not write with the active term")
	}
}

func TestReloadKeyring(t *testing.T) {
	ctx := context.Background()
	active, phys, root := newBarrier(t)
	standby := barrier.New(phys)
	if err := standby.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	put(t, standby, "before", "x")
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	put(t, active, "after", "y")
	if _, err := standby.Get(ctx, "after"); !errors.Is(err, barrier.ErrUnknownTerm) {
		t.Fatalf("standby Get before reload = %v, want ErrUnknownTerm", err)
	}
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if mustGet(t, standby, "after") != "y" || mustGet(t, standby, "before") != "x" {
		t.Fatal("standby read wrong values after reload")
	}
	st, err := standby.KeyStatus()
	if err != nil || st.Term != 2 {
		t.Fatalf("standby KeyStatus = %+v, %v; want term 2", st, err)
	}
}

func TestSetRootKey(t *testing.T) {
	ctx := context.Background()
	b, phys, oldRoot := newBarrier(t)
	put(t, b, "k", "v")
	newRoot, _ := b.GenerateKey()
	if err := b.SetRootKey(ctx, newRoot); err != nil {
		t.Fatal(err)
	}
	b.Seal()
	if err := b.Unseal(ctx, oldRoot); !errors.Is(err, barrier.ErrBadRootKey) {
		t.Fatalf("Unseal with old root = %v, want ErrBadRootKey", err)
	}
	if err := barrier.New(phys).Unseal(ctx, newRoot); err != nil {
		t.Fatalf("Unseal with new root on a fresh instance: %v", err)
	}
	if err := b.Unseal(ctx, newRoot); err != nil {
		t.Fatal(err)
	}
	if mustGet(t, b, "k") != "v" {
		t.Fatal("value lost across rekey")
	}
}

// plainBackend hides inmem's Transaction method.
type plainBackend struct{ storage.Backend }

func TestTransaction(t *testing.T) {
	ctx := context.Background()
	b, phys, _ := newBarrier(t)
	put(t, b, "gone", "x")
	err := b.Transaction(ctx, []*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "a", Value: []byte("1")}},
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "b", Value: []byte("2")}},
		{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "gone"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if mustGet(t, b, "a") != "1" || mustGet(t, b, "b") != "2" {
		t.Fatal("transaction values wrong")
	}
	if bytes.Equal(raw(t, phys, "a"), []byte("1")) {
		t.Fatal("transaction stored plaintext")
	}
	if e, _ := b.Get(ctx, "gone"); e != nil {
		t.Fatal("transaction delete not applied")
	}

	nt := barrier.New(plainBackend{inmem.New()})
	root, _ := nt.GenerateKey()
	if err := nt.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := nt.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := nt.Transaction(ctx, nil); !errors.Is(err, barrier.ErrNotTransactional) {
		t.Fatalf("Transaction over plain backend = %v, want ErrNotTransactional", err)
	}
}

// failingBackend fails Puts to one key on demand.
type failingBackend struct {
	*inmem.Backend
	mu      sync.Mutex
	failKey string
}

var errInjected = errors.New("injected failure")

func (f *failingBackend) Put(ctx context.Context, e *storage.Entry) error {
	f.mu.Lock()
	fail := e.Key == f.failKey
	f.mu.Unlock()
	if fail {
		return errInjected
	}
	return f.Backend.Put(ctx, e)
}

// Transaction fails, writing nothing, when any op touches the failing key.
func (f *failingBackend) Transaction(ctx context.Context, ops []*storage.Op) error {
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

// fail makes writes to key fail from now on ("" for none).
func (f *failingBackend) fail(key string) {
	f.mu.Lock()
	f.failKey = key
	f.mu.Unlock()
}

func TestRotateKeepsTermWhenPersistFails(t *testing.T) {
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
	phys.fail(barrier.KeyringPath)
	if _, err := b.Rotate(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("Rotate with failing store = %v, want injected error", err)
	}
	if st, _ := b.KeyStatus(); st.Term != 1 {
		t.Fatalf("term after failed rotate = %d, want 1", st.Term)
	}
	if err := b.SetRootKey(ctx, make([]byte, barrier.KeySize)); !errors.Is(err, errInjected) {
		t.Fatalf("SetRootKey with failing store = %v", err)
	}
	b.Seal()
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatalf("old root key no longer works after failed SetRootKey: %v", err)
	}
}

// TestConcurrentUse runs readers and writers against rotations; run with
// -race. Every read must return what its writer wrote.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newBarrier(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				key := fmt.Sprintf("w%d/%d", w, i%10)
				val := []byte(fmt.Sprintf("%d-%d", w, i))
				if err := b.Put(ctx, &storage.Entry{Key: key, Value: val}); err != nil {
					errs <- err
					return
				}
				e, err := b.Get(ctx, key)
				if err != nil || e == nil || !bytes.Equal(e.Value, val) {
					errs <- fmt.Errorf("Get(%q) = %v, %v", key, e, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := b.Rotate(ctx); err != nil {
				errs <- err
				return
			}
			if _, err := b.KeyStatus(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st, _ := b.KeyStatus(); st.Term != 11 {
		t.Fatalf("term = %d, want 11", st.Term)
	}
}

const benchValueSize = 1024

func BenchmarkEncrypt(b *testing.B) {
	br, _, _ := newBarrier(b)
	ctx := context.Background()
	entry := &storage.Entry{Key: "logical/bench/value", Value: bytes.Repeat([]byte{'v'}, benchValueSize)}
	b.SetBytes(benchValueSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Put(ctx, entry); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	br, _, _ := newBarrier(b)
	ctx := context.Background()
	put(b, br, "logical/bench/value", strings.Repeat("v", benchValueSize))
	b.SetBytes(benchValueSize)
	b.ReportAllocs()
	for b.Loop() {
		if e, err := br.Get(ctx, "logical/bench/value"); err != nil || len(e.Value) != benchValueSize {
			b.Fatal(e, err)
		}
	}
}

// BenchmarkPutParallel measures Put from every P at once: the encryption
// counter is shared by all of them.
func BenchmarkPutParallel(b *testing.B) {
	br, _, _ := newBarrier(b)
	ctx := context.Background()
	value := bytes.Repeat([]byte{'v'}, benchValueSize)
	b.SetBytes(benchValueSize)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		entry := &storage.Entry{Key: "logical/bench/parallel", Value: value}
		for pb.Next() {
			if err := br.Put(ctx, entry); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
