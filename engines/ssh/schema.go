package ssh

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Storage layout of a mount (keys relative to the mount's view, which
// core encrypts behind the barrier). This is the only place key names
// are spelled.
//
//	config/ca       caEntry (JSON): the CA key pair, both halves in one
//	                entry so that a write is never half done, with the
//	                public keys it replaced that may still have live
//	                certificates (so a rotation is one write too)
//	roles/<name>    role (JSON): a CA role (Vault's prefix)
const (
	caKey      = "config/ca"
	rolePrefix = "roles/"
)

// caEntry is the stored CA key pair (config/ca).
type caEntry struct {
	// PublicKey is the authorized_keys line of the CA key.
	PublicKey string `json:"public_key"`
	// PrivateKey is the PEM private key; it never leaves storage.
	PrivateKey string `json:"private_key"`
	// CreatedAt is when the key was generated or imported (zero for a
	// key configured before it was recorded).
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Previous are the public keys of the CA keys this one replaced,
	// newest first, kept published until the last certificate they can
	// have signed expires. Their private keys are not kept.
	Previous []retiredKey `json:"previous,omitempty"`
}

// retiredKey is a replaced CA public key.
type retiredKey struct {
	// PublicKey is its authorized_keys line.
	PublicKey string `json:"public_key"`
	// ExpiresAt is when the last certificate it signed expires: the
	// rotation time plus the longest certificate TTL then allowed.
	ExpiresAt time.Time `json:"expires_at"`
}

// published lists the CA public keys sshd should trust at now: the
// current key, then the replaced keys whose certificates may still be
// valid, newest first.
func (c *caEntry) published(now time.Time) []string {
	out := []string{c.PublicKey}
	for _, k := range c.live(now) {
		out = append(out, k.PublicKey)
	}
	return out
}

// live are the replaced keys not yet expired at now, newest first.
func (c *caEntry) live(now time.Time) []retiredKey {
	var out []retiredKey
	for _, k := range c.Previous {
		if now.Before(k.ExpiresAt) {
			out = append(out, k)
		}
	}
	return out
}

// nextExpiry is the earliest expiry of the replaced keys (zero: none).
func (c *caEntry) nextExpiry() time.Time {
	var next time.Time
	for _, k := range c.Previous {
		if next.IsZero() || k.ExpiresAt.Before(next) {
			next = k.ExpiresAt
		}
	}
	return next
}

// role is a stored CA role (roles/<name>).
type role struct {
	KeyType                string            `json:"key_type"`
	DefaultUser            string            `json:"default_user"`
	AllowedUsers           string            `json:"allowed_users"`
	AllowedDomains         string            `json:"allowed_domains"`
	TTL                    time.Duration     `json:"ttl"`
	MaxTTL                 time.Duration     `json:"max_ttl"`
	AllowedCriticalOptions string            `json:"allowed_critical_options"`
	AllowedExtensions      string            `json:"allowed_extensions"`
	DefaultCriticalOptions map[string]string `json:"default_critical_options"`
	DefaultExtensions      map[string]string `json:"default_extensions"`
	AllowUserCertificates  bool              `json:"allow_user_certificates"`
	AllowHostCertificates  bool              `json:"allow_host_certificates"`
	AllowBareDomains       bool              `json:"allow_bare_domains"`
	AllowSubdomains        bool              `json:"allow_subdomains"`
	AllowUserKeyIDs        bool              `json:"allow_user_key_ids"`
	KeyIDFormat            string            `json:"key_id_format"`
	AllowedUserKeyLengths  map[string][]int  `json:"allowed_user_key_lengths"`
	AlgorithmSigner        string            `json:"algorithm_signer"`
	NotBeforeDuration      time.Duration     `json:"not_before_duration"`
}

func loadCA(ctx context.Context, s logical.Storage) (*caEntry, error) {
	return framework.Load[caEntry](ctx, store, s, caKey)
}

func loadRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	return framework.Load[role](ctx, store, s, rolePrefix+name)
}

// store is the engine's JSON storage (errors name "ssh" and wrap
// ErrCorrupt for an entry that does not decode).
var store = framework.JSONStore{Engine: "ssh", Corrupt: ErrCorrupt}

// putJSON stores v at key.
func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	return store.Put(ctx, s, key, v)
}

// deleteKey removes key.
func deleteKey(ctx context.Context, s logical.Storage, key string) error {
	return store.Delete(ctx, s, key)
}
