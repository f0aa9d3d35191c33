package barrier_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

func TestNoncesDiffer(t *testing.T) {
	b, phys, _ := newBarrier(t)
	put(t, b, "k", "same")
	first := bytes.Clone(raw(t, phys, "k"))
	put(t, b, "k", "same")
	second := raw(t, phys, "k")
	if bytes.Equal(first[versionLen+termLen:headerLen], second[versionLen+termLen:headerLen]) {
		t.Fatal("two encryptions reused a nonce")
	}
}

// TestTamper flips one byte of a stored value at each region of the format
// and expects the matching integrity error, never data.
func TestTamper(t *testing.T) {
	const plaintext = "tamper-evident value"
	ctLen := len(plaintext) + tagLen
	tests := []struct {
		name string
		pos  int // negative counts from the end
		want error
	}{
		{"version", 0, barrier.ErrUnknownVersion},
		{"term high byte", 1, barrier.ErrUnknownTerm},
		{"term low byte", 4, barrier.ErrUnknownTerm},
		{"nonce first", 5, barrier.ErrDecrypt},
		{"nonce last", headerLen - 1, barrier.ErrDecrypt},
		{"ciphertext first", headerLen, barrier.ErrDecrypt},
		{"ciphertext last", headerLen + len(plaintext) - 1, barrier.ErrDecrypt},
		{"tag first", headerLen + ctLen - tagLen, barrier.ErrDecrypt},
		{"tag last", -1, barrier.ErrDecrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b, phys, _ := newBarrier(t)
			put(t, b, "secret/x", plaintext)
			c := bytes.Clone(raw(t, phys, "secret/x"))
			pos := tc.pos
			if pos < 0 {
				pos += len(c)
			}
			c[pos] ^= 0x01
			if err := phys.Put(ctx, &storage.Entry{Key: "secret/x", Value: c}); err != nil {
				t.Fatal(err)
			}
			e, err := b.Get(ctx, "secret/x")
			if !errors.Is(err, tc.want) || e != nil {
				t.Fatalf("Get after flipping byte %d = %v, %v; want %v", pos, e, err, tc.want)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		ctx := context.Background()
		b, phys, _ := newBarrier(t)
		put(t, b, "k", plaintext)
		c := raw(t, phys, "k")
		for _, n := range []int{0, 1, headerLen, headerLen + tagLen - 1} {
			if err := phys.Put(ctx, &storage.Entry{Key: "k", Value: c[:n]}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Get(ctx, "k"); !errors.Is(err, barrier.ErrMalformed) {
				t.Fatalf("Get of %d-byte value = %v, want ErrMalformed", n, err)
			}
		}
		if err := phys.Put(ctx, &storage.Entry{Key: "k", Value: c[:len(c)-1]}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(ctx, "k"); !errors.Is(err, barrier.ErrDecrypt) {
			t.Fatalf("Get of value missing its last byte = %v, want ErrDecrypt", err)
		}
	})
}

func TestMovedCiphertextFails(t *testing.T) {
	ctx := context.Background()
	b, phys, _ := newBarrier(t)
	put(t, b, "logical/a/password", "hunter2")
	put(t, b, "logical/b/password", "other")
	stolen := raw(t, phys, "logical/a/password")
	for _, dst := range []string{"logical/b/password", "logical/a/password2", "logical/A/password"} {
		if err := phys.Put(ctx, &storage.Entry{Key: dst, Value: stolen}); err != nil {
			t.Fatal(err)
		}
		if e, err := b.Get(ctx, dst); !errors.Is(err, barrier.ErrDecrypt) || e != nil {
			t.Fatalf("Get(%q) of moved value = %v, %v; want ErrDecrypt", dst, e, err)
		}
	}
}

// TestRelabelledTermFails moves a term-1 value to term 2 by editing its
// header: the term-2 key must not authenticate it.
func TestRelabelledTermFails(t *testing.T) {
	ctx := context.Background()
	b, phys, _ := newBarrier(t)
	put(t, b, "k", "v")
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	c := bytes.Clone(raw(t, phys, "k"))
	binary.BigEndian.PutUint32(c[versionLen:], 2)
	if err := phys.Put(ctx, &storage.Entry{Key: "k", Value: c}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, barrier.ErrDecrypt) {
		t.Fatalf("Get of relabelled value = %v, want ErrDecrypt", err)
	}
}

// walk returns every key in the physical store.
func walk(t *testing.T, b storage.Backend, prefix string) []string {
	t.Helper()
	children, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range children {
		if strings.HasSuffix(c, "/") {
			out = append(out, walk(t, b, prefix+c)...)
		} else {
			out = append(out, prefix+c)
		}
	}
	return out
}

func TestPhysicalHoldsNoPlaintext(t *testing.T) {
	ctx := context.Background()
	b, phys, root := newBarrier(t)
	sentinel := []byte("PLAINTEXT-SENTINEL-7f3a")
	for i := range 20 {
		put(t, b, fmt.Sprintf("logical/m%d/secret", i), string(sentinel)+strings.Repeat("!", i))
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Transaction(ctx, []*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "tx/k", Value: sentinel}}}); err != nil {
		t.Fatal(err)
	}
	keys := walk(t, phys, "")
	if !slices.Contains(keys, barrier.KeyringPath) || !slices.Contains(keys, "tx/k") || len(keys) != 22 {
		t.Fatalf("physical keys = %q", keys)
	}
	for _, k := range keys {
		v := raw(t, phys, k)
		if bytes.Contains(v, sentinel) {
			t.Fatalf("physical %q contains the plaintext sentinel", k)
		}
		if bytes.Contains(v, root) {
			t.Fatalf("physical %q contains the root key", k)
		}
	}
}

func TestReservedKeyring(t *testing.T) {
	ctx := context.Background()
	b, phys, _ := newBarrier(t)
	before := bytes.Clone(raw(t, phys, barrier.KeyringPath))
	if _, err := b.Get(ctx, barrier.KeyringPath); !errors.Is(err, barrier.ErrReservedKey) {
		t.Fatalf("Get(keyring) = %v", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: barrier.KeyringPath, Value: []byte("x")}); !errors.Is(err, barrier.ErrReservedKey) {
		t.Fatalf("Put(keyring) = %v", err)
	}
	if err := b.Delete(ctx, barrier.KeyringPath); !errors.Is(err, barrier.ErrReservedKey) {
		t.Fatalf("Delete(keyring) = %v", err)
	}
	err := b.Transaction(ctx, []*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: "ok", Value: []byte("1")}},
		{Kind: storage.OpDelete, Entry: &storage.Entry{Key: barrier.KeyringPath}},
	})
	if !errors.Is(err, barrier.ErrReservedKey) {
		t.Fatalf("Transaction touching keyring = %v", err)
	}
	if e, _ := phys.Get(ctx, "ok"); e != nil {
		t.Fatal("rejected transaction applied a write")
	}
	if !bytes.Equal(raw(t, phys, barrier.KeyringPath), before) {
		t.Fatal("keyring changed")
	}
	put(t, b, "core/mounts", "m")
	got, err := b.List(ctx, "core/")
	if err != nil || !slices.Equal(got, []string{"mounts"}) {
		t.Fatalf("List(core/) = %q, %v; want [mounts]", got, err)
	}
}
