package transit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout of a mount (keys relative to the mount's view, which
// core encrypts behind the barrier). This is the only place key names
// are spelled; the prefix is Vault's.
//
//	policy/<name>  policy (JSON): a named key, every version's material
const policyPrefix = "policy/"

// kdfHKDF is the one key derivation function of derived keys: HKDF with
// SHA-256, the key version's material as secret, no salt, the request's
// context as info (Vault's kdf "hkdf_sha256").
const kdfHKDF = "hkdf_sha256"

// policy is a stored named key (policy/<name>). A policy reachable from
// the cache is never modified: writers change a clone.
type policy struct {
	Name                 string        `json:"name"`
	Type                 keyType       `json:"type"`
	Derived              bool          `json:"derived"`
	KDF                  string        `json:"kdf,omitempty"`
	Exportable           bool          `json:"exportable"`
	AllowPlaintextBackup bool          `json:"allow_plaintext_backup"`
	DeletionAllowed      bool          `json:"deletion_allowed"`
	LatestVersion        int           `json:"latest_version"`
	MinDecryptionVersion int           `json:"min_decryption_version"`
	MinEncryptionVersion int           `json:"min_encryption_version"`
	MinAvailableVersion  int           `json:"min_available_version"`
	AutoRotatePeriod     time.Duration `json:"auto_rotate_period"`
	// Keys maps a version ("1", "2", ...) to its material; versions
	// below MinAvailableVersion have been trimmed away.
	Keys map[string]*keyEntry `json:"keys"`
}

// keyEntry is one key version's material. Entries are never modified
// once stored.
type keyEntry struct {
	// Key is the symmetric key (aes, chacha), the HKDF secret of a
	// derived key, or the 64-byte private key of a non-derived ed25519.
	Key []byte `json:"key,omitempty"`
	// PrivateKey is the PKCS#8 DER of an ecdsa or rsa key.
	PrivateKey []byte `json:"private_key,omitempty"`
	// HMACKey is the version's HMAC key (hmac/, export hmac-key).
	HMACKey      []byte    `json:"hmac_key"`
	CreationTime time.Time `json:"creation_time"`
}

// clone is a copy whose Keys map may be changed (the entries are shared).
func (p *policy) clone() *policy {
	c := *p
	c.Keys = maps.Clone(p.Keys)
	return &c
}

// entry returns version ver's material, or nil.
func (p *policy) entry(ver int) *keyEntry { return p.Keys[strconv.Itoa(ver)] }

// nextRotation is when auto-rotation is due (zero: never).
func (p *policy) nextRotation() time.Time {
	e := p.entry(p.LatestVersion)
	if p.AutoRotatePeriod <= 0 || e == nil {
		return time.Time{}
	}
	return e.CreationTime.Add(p.AutoRotatePeriod)
}

func loadPolicy(ctx context.Context, s logical.Storage, name string) (*policy, error) {
	e, err := s.Get(ctx, policyPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("transit: read key %q: %w", name, err)
	}
	if e == nil {
		return nil, nil
	}
	var p policy
	if err := json.Unmarshal(e.Value, &p); err != nil {
		return nil, fmt.Errorf("%w: key %q", ErrCorrupt, name)
	}
	if !p.Type.valid() || p.LatestVersion < 1 || p.entry(p.LatestVersion) == nil {
		return nil, fmt.Errorf("%w: key %q", ErrCorrupt, name)
	}
	return &p, nil
}

func putPolicy(ctx context.Context, s logical.Storage, p *policy) error {
	buf, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("transit: encode key %q: %w", p.Name, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: policyPrefix + p.Name, Value: buf}); err != nil {
		return fmt.Errorf("transit: write key %q: %w", p.Name, err)
	}
	return nil
}

func deletePolicy(ctx context.Context, s logical.Storage, name string) error {
	if err := s.Delete(ctx, policyPrefix+name); err != nil {
		return fmt.Errorf("transit: delete key %q: %w", name, err)
	}
	return nil
}

func listPolicies(ctx context.Context, s logical.Storage) ([]string, error) {
	keys, err := s.List(ctx, policyPrefix)
	if err != nil {
		return nil, fmt.Errorf("transit: list keys: %w", err)
	}
	return keys, nil
}

// stripes are name-hashed mutexes (framework.Stripes).
type stripes = framework.Stripes
