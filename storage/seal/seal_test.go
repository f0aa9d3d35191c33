package seal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name              string
		typ               string
		shares, threshold int
		ok                bool
	}{
		{"default 5/3", seal.TypeShamir, 5, 3, true},
		{"single share", seal.TypeShamir, 1, 1, true},
		{"2/2", seal.TypeShamir, 2, 2, true},
		{"255/255", seal.TypeShamir, 255, 255, true},
		{"255/2", seal.TypeShamir, 255, 2, true},
		{"threshold 1 with many shares", seal.TypeShamir, 5, 1, false},
		{"threshold above shares", seal.TypeShamir, 3, 4, false},
		{"zero shares", seal.TypeShamir, 0, 0, false},
		{"zero threshold", seal.TypeShamir, 3, 0, false},
		{"negative", seal.TypeShamir, -1, -1, false},
		{"256 shares", seal.TypeShamir, 256, 3, false},
		{"unknown type", "awskms", 5, 3, false},
		{"empty type", "", 5, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := seal.Config{Type: tc.typ, SecretShares: tc.shares, SecretThreshold: tc.threshold}.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
			if !tc.ok && !errors.Is(err, seal.ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if err := seal.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
}

func TestInit(t *testing.T) {
	ctx := context.Background()
	phys := inmem.New()
	s := seal.New(phys)
	if cfg, err := s.Config(ctx); cfg != nil || err != nil {
		t.Fatalf("Config before Init = %v, %v; want nil, nil", cfg, err)
	}
	if _, _, err := s.Init(ctx, seal.Config{SecretShares: 5, SecretThreshold: 1}); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Fatalf("Init with bad config = %v", err)
	}
	if e, _ := phys.Get(ctx, seal.ConfigPath); e != nil {
		t.Fatal("rejected Init stored a config")
	}
	root, shares, err := s.Init(ctx, seal.Config{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != seal.RootKeySize || len(shares) != 5 {
		t.Fatalf("Init returned %d-byte root and %d shares", len(root), len(shares))
	}
	for i, sh := range shares {
		if len(sh) != seal.RootKeySize+1 {
			t.Fatalf("share %d is %d bytes", i, len(sh))
		}
	}
	e, err := phys.Get(ctx, seal.ConfigPath)
	if err != nil || e == nil {
		t.Fatalf("config not stored: %v", err)
	}
	var stored map[string]any
	if err := json.Unmarshal(e.Value, &stored); err != nil {
		t.Fatalf("stored config is not JSON: %v", err)
	}
	want := map[string]any{"type": "shamir", "secret_shares": 5.0, "secret_threshold": 3.0}
	if fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Fatalf("stored config = %v, want %v", stored, want)
	}
	if bytes.Contains(e.Value, root) {
		t.Fatal("config contains the root key")
	}
	cfg, err := s.Config(ctx)
	if err != nil || *cfg != (seal.Config{Type: "shamir", SecretShares: 5, SecretThreshold: 3}) {
		t.Fatalf("Config = %+v, %v", cfg, err)
	}
	if _, _, err := s.Init(ctx, seal.DefaultConfig()); !errors.Is(err, seal.ErrAlreadyInitialized) {
		t.Fatalf("second Init = %v, want ErrAlreadyInitialized", err)
	}
}

func TestInitSingleShare(t *testing.T) {
	ctx := context.Background()
	s := seal.New(inmem.New())
	root, shares, err := s.Init(ctx, seal.Config{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 1 || len(shares[0]) != seal.RootKeySize {
		t.Fatalf("single share: %d shares, %d bytes", len(shares), len(shares[0]))
	}
	if bytes.Equal(shares[0], root) {
		t.Fatal("the single share is the root key, not a separate unseal key")
	}
	u := s.NewUnsealer()
	got, err := u.Add(ctx, shares[0])
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("Add(single share) = %x, %v; want the root key", got, err)
	}
	if _, err := u.Add(ctx, append(bytes.Clone(root), 1)); !errors.Is(err, seal.ErrShareLength) {
		t.Fatalf("Add(33 bytes) with one share = %v, want ErrShareLength", err)
	}
	if _, err := u.Add(ctx, root); !errors.Is(err, seal.ErrBadUnsealKey) {
		t.Fatalf("Add(root key as the share) = %v, want ErrBadUnsealKey", err)
	}
}

// TestInitStoresWrappedKeys checks what Init stores: the config, the root
// key wrapped with the unseal key and the unseal key wrapped with the root
// key, and neither key (nor any share) in clear anywhere.
func TestInitStoresWrappedKeys(t *testing.T) {
	ctx := context.Background()
	phys := inmem.New()
	s := seal.New(phys)
	root, shares, err := s.Init(ctx, seal.Config{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	unsealKey, err := shamir.Combine(shares[:2])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(unsealKey, root) {
		t.Fatal("the shares combine to the root key itself")
	}
	keys, err := phys.List(ctx, "core/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"root-key-shamir", "seal-config", "shamir-kek"}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("Init stored %q, want %q", keys, want)
	}
	secrets := append([][]byte{root, unsealKey}, shares...)
	for _, k := range keys {
		e, _ := phys.Get(ctx, "core/"+k)
		for i, secret := range secrets {
			if bytes.Contains(e.Value, secret[:16]) {
				t.Fatalf("core/%s contains secret %d in clear", k, i)
			}
		}
	}
	for _, path := range []string{seal.WrappedRootKeyPath, seal.WrappedUnsealKeyPath} {
		e, _ := phys.Get(ctx, path)
		if len(e.Value) != 1+12+32+16 || e.Value[0] != 1 {
			t.Fatalf("%s is %d bytes with version %d", path, len(e.Value), e.Value[0])
		}
	}
}

// TestInitLeavesNothingWhenWriteFails: a failed Init stores nothing, so the
// seal is still uninitialized and Init can run again.
func TestInitLeavesNothingWhenWriteFails(t *testing.T) {
	ctx := context.Background()
	phys := &failingTx{Backend: inmem.New()}
	phys.fail(seal.ConfigPath)
	s := seal.New(phys)
	if _, _, err := s.Init(ctx, seal.DefaultConfig()); !errors.Is(err, errInjected) {
		t.Fatalf("Init = %v, want the injected error", err)
	}
	if keys, _ := phys.List(ctx, ""); len(keys) != 0 {
		t.Fatalf("failed Init stored %q", keys)
	}
	phys.fail("")
	if _, _, err := s.Init(ctx, seal.DefaultConfig()); err != nil {
		t.Fatalf("Init after a failed Init: %v", err)
	}
}

func TestCorruptStoredConfig(t *testing.T) {
	ctx := context.Background()
	tests := map[string]string{
		"not json":   "{",
		"invalid":    `{"type":"shamir","secret_shares":5,"secret_threshold":9}`,
		"wrong type": `{"type":"transit","secret_shares":1,"secret_threshold":1}`,
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			phys := inmem.New()
			if err := phys.Put(ctx, &storage.Entry{Key: seal.ConfigPath, Value: []byte(value)}); err != nil {
				t.Fatal(err)
			}
			s := seal.New(phys)
			if cfg, err := s.Config(ctx); err == nil {
				t.Fatalf("Config = %+v, want an error", cfg)
			}
			if _, err := s.NewUnsealer().Add(ctx, make([]byte, 33)); err == nil {
				t.Fatal("Add with corrupt config succeeded")
			}
		})
	}
}
