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
	if len(shares) != 1 || !bytes.Equal(shares[0], root) {
		t.Fatal("single share is not the root key")
	}
	shares[0][0] ^= 1 // the share must be a copy, not the root key's memory
	if bytes.Equal(shares[0], root) {
		t.Fatal("share aliases the root key")
	}
	shares[0][0] ^= 1
	u := s.NewUnsealer()
	got, err := u.Add(ctx, shares[0])
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("Add(single share) = %x, %v", got, err)
	}
	if _, err := u.Add(ctx, append(bytes.Clone(root), 1)); !errors.Is(err, seal.ErrShareLength) {
		t.Fatalf("Add(33 bytes) with one share = %v, want ErrShareLength", err)
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
