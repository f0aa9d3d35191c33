package token_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestRawTokensNeverStored exercises every write path, then scans every
// key and value of the physical store for any raw token.
func TestRawTokensNeverStored(t *testing.T) {
	h := newHarness(t, token.Options{})
	raws := []string{h.root}
	parent, _ := h.create(h.root, map[string]any{"policies": "a", "meta": map[string]any{"k": "v"}})
	raws = append(raws, parent)
	for range 5 {
		raw, _ := h.create(parent, nil)
		raws = append(raws, raw)
		h.mustDo(h.root, logical.UpdateOperation, "renew", map[string]any{"token": raw})
		h.mustDo(raw, logical.ReadOperation, "lookup-self", nil)
	}
	limited, _ := h.create(h.root, map[string]any{"policies": "a", "num_uses": 3})
	raws = append(raws, limited)
	h.mustDo(limited, logical.ReadOperation, "lookup-self", nil)
	custom, _ := h.create(h.root, map[string]any{"id": "custom-token-value", "policies": "a"})
	raws = append(raws, custom)
	orphan := h.mustDo(h.root, logical.UpdateOperation, "create-orphan", nil).Auth.ClientToken
	raws = append(raws, orphan)

	all := h.dump()
	if len(all) < 2*len(raws)+1 { // id + accessor per token, salt
		t.Fatalf("only %d physical entries for %d tokens", len(all), len(raws))
	}
	for _, raw := range raws {
		secret := strings.TrimPrefix(raw, token.Prefix)
		for k, v := range all {
			if strings.Contains(k, secret) || bytes.Contains(v, []byte(secret)) {
				t.Fatalf("raw token found in physical entry %q", k)
			}
		}
	}
	for k := range all {
		if !strings.HasPrefix(k, "sys/token/") {
			t.Fatalf("entry %q outside the view", k)
		}
	}
}

func TestTokenFormat(t *testing.T) {
	h := newHarness(t, token.Options{})
	seen := map[string]bool{}
	for range 50 {
		raw, auth := h.create(h.root, map[string]any{"policies": "p"})
		body := strings.TrimPrefix(raw, token.Prefix)
		if !strings.HasPrefix(raw, token.Prefix) || len(body) != 32 || len(auth.Accessor) != 24 {
			t.Fatalf("token %q accessor %q", raw, auth.Accessor)
		}
		for _, c := range body + auth.Accessor {
			if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", c) {
				t.Fatalf("non-base62 character %q in %q", c, raw)
			}
		}
		if seen[raw] || seen[auth.Accessor] {
			t.Fatal("duplicate token or accessor")
		}
		seen[raw], seen[auth.Accessor] = true, true
	}
}

func TestSetup(t *testing.T) {
	ctx := context.Background()
	t.Run("not set up", func(t *testing.T) {
		s := token.NewStore(storage.NewView(inmem.New(), "t/"), token.Options{})
		_, err := s.Authenticate(ctx, "svs.x")
		wantErr(t, err, token.ErrNotSetup)
		_, _, err = s.CreateRoot(ctx)
		wantErr(t, err, token.ErrNotSetup)
		_, err = s.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "create"}, nil)
		wantErr(t, err, token.ErrNotSetup)
	})
	t.Run("salt survives a restart", func(t *testing.T) {
		be := inmem.New()
		s1 := token.NewStore(storage.NewView(be, "sys/token/"), token.Options{})
		if err := s1.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		raw, _, err := s1.CreateRoot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		salt, _ := be.Get(ctx, "sys/token/salt")
		if salt == nil || len(salt.Value) != 32 {
			t.Fatalf("salt entry = %+v", salt)
		}
		s2 := token.NewStore(storage.NewView(be, "sys/token/"), token.Options{})
		if err := s2.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		if e, err := s2.Authenticate(ctx, raw); err != nil || !e.IsRoot() {
			t.Fatalf("Authenticate after restart: %v", err)
		}
	})
	t.Run("separate salts give separate hashes", func(t *testing.T) {
		a, b := newHarness(t, token.Options{}), newHarness(t, token.Options{})
		_, err := b.store.Authenticate(b.ctx, a.root)
		wantErr(t, err, token.ErrInvalidToken)
	})
	t.Run("invalid options", func(t *testing.T) {
		s := token.NewStore(storage.NewView(inmem.New(), "t/"), token.Options{MaxTTL: time.Hour, DefaultTTL: 2 * time.Hour})
		err := s.Setup(ctx)
		if !errors.Is(err, token.ErrInvalidOptions) || !strings.Contains(err.Error(), "DefaultTTL") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("non-transactional backend", func(t *testing.T) {
		s := token.NewStore(plainBackend{inmem.New()}, token.Options{})
		if err := s.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		raw, _, err := s.CreateRoot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx, raw); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, raw)
		wantErr(t, err, token.ErrInvalidToken)
	})
}

// plainBackend hides the Transactional power of the backend it wraps.
type plainBackend struct{ b storage.Backend }

func (p plainBackend) Get(ctx context.Context, k string) (*storage.Entry, error) {
	return p.b.Get(ctx, k)
}
func (p plainBackend) Put(ctx context.Context, e *storage.Entry) error { return p.b.Put(ctx, e) }
func (p plainBackend) Delete(ctx context.Context, k string) error      { return p.b.Delete(ctx, k) }
func (p plainBackend) List(ctx context.Context, pre string) ([]string, error) {
	return p.b.List(ctx, pre)
}

func TestInvalidTokensAreIndistinguishable(t *testing.T) {
	h := newHarness(t, token.Options{})
	for _, raw := range []string{"", "svs.", "svs.unknown", strings.Repeat("x", 10000)} {
		_, err := h.store.Authenticate(h.ctx, raw)
		wantErr(t, err, token.ErrInvalidToken)
		if err.Error() != token.ErrInvalidToken.Error() {
			t.Fatalf("error text leaks detail: %q", err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	h := newHarness(b, token.Options{})
	child, _ := h.create(h.root, map[string]any{"policies": "p"})
	grandchild, _ := h.create(child, nil)
	limited, _ := h.create(h.root, map[string]any{"policies": "p", "num_uses": 1 << 30})
	for _, bc := range []struct{ name, raw string }{
		{"root", h.root}, {"child", child}, {"grandchild", grandchild}, {"num_uses", limited},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.store.Authenticate(h.ctx, bc.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTidyDanglingIndexes simulates writes interrupted on a backend
// without transactions: index entries pointing at nothing, and a token
// whose parent vanished.
func TestTidyDanglingIndexes(t *testing.T) {
	h := newHarness(t, token.Options{})
	parent, _ := h.create(h.root, map[string]any{"policies": "p"})
	child, _ := h.create(parent, nil)
	// Delete the parent's entry behind the store's back, leaving its
	// accessor index and the link to its child.
	var parentKey string
	pe, err := h.store.Lookup(h.ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h.dump() {
		if strings.HasPrefix(k, "sys/token/id/") && bytes.Contains(v, []byte(`"accessor":"`+pe.Accessor+`"`)) {
			parentKey = k
		}
	}
	if parentKey == "" {
		t.Fatal("parent entry not found")
	}
	if err := h.be.Delete(h.ctx, parentKey); err != nil {
		t.Fatal(err)
	}
	for _, junk := range []string{"sys/token/id/x", "sys/token/parent/y/z", "sys/token/accessor/q"} {
		if err := h.be.Put(h.ctx, &storage.Entry{Key: junk, Value: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	if h.valid(child) {
		t.Fatal("child of a vanished parent is valid")
	}
	n, err := h.store.Tidy(h.ctx)
	wantErr(t, err, token.ErrCorrupt) // reported, yet tidy went on
	if n != 1 {
		t.Fatalf("Tidy removed %d, want 1 (the orphaned child)", n)
	}
	if err := h.be.Delete(h.ctx, "sys/token/id/x"); err != nil {
		t.Fatal(err)
	}
	if n, err = h.store.Tidy(h.ctx); err != nil || n != 0 {
		t.Fatalf("second Tidy = %d, %v; want 0, nil", n, err)
	}
	keys := h.dump()
	for _, want := range []string{"sys/token/id/", "sys/token/accessor/", "sys/token/parent/"} {
		n := 0
		for k := range keys {
			if strings.HasPrefix(k, want) {
				n++
			}
		}
		if want == "sys/token/parent/" && n != 0 || want != "sys/token/parent/" && n != 1 {
			t.Errorf("%d entries under %s after tidy: %v", n, want, keys)
		}
	}
}
