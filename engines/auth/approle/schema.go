package approle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout of a mount (keys relative to its view). This is the only
// place key names are spelled.
//
//	salt                                   32 random bytes: the HMAC key
//	role/<name>                            roleEntry (JSON); names are lower case
//	role_id/<hmac("role_id", id)>          roleIDEntry (JSON): role_id -> role name
//	secret_id/<name>/<hmac("secret_id", s)> secretIDEntry (JSON)
//	accessor/<hmac("accessor", a)>         accessorEntry (JSON)
//
// Secret ids appear only as their HMAC; role ids and accessors are
// indexed by theirs so a key listing reveals none of them.
const (
	saltKey        = "salt"
	rolePrefix     = "role/"
	roleIDPrefix   = "role_id/"
	secretIDPrefix = "secret_id/"
	accessorPrefix = "accessor/"
	saltLen        = 32
)

func roleKey(name string) string               { return rolePrefix + name }
func roleIDKey(h string) string                { return roleIDPrefix + h }
func secretIDDir(role string) string           { return secretIDPrefix + role + "/" }
func secretIDKey(role, h string) string        { return secretIDDir(role) + h }
func accessorKey(h string) string              { return accessorPrefix + h }
func hmacDomain(kind, value string) []byte     { return []byte(kind + "\x00" + value) }
func stripe(s string) int                      { return int(fnvHash(s) % lockStripes) }
func fnvHash(s string) uint32                  { h := fnv.New32a(); h.Write([]byte(s)); return h.Sum32() }
func sameHMAC(a, b string) bool                { return hmac.Equal([]byte(a), []byte(b)) }
func (b *Backend) roleLock(n string) *rwStripe { return &b.roleLocks[stripe(n)] }
func (b *Backend) secretLock(h string) *mutexStripe {
	return &b.secretLocks[stripe(h)]
}

type rwStripe struct{ sync.RWMutex }
type mutexStripe struct{ sync.Mutex }

// roleEntry is one role as stored.
type roleEntry struct {
	Name               string             `json:"name"`
	RoleID             string             `json:"role_id"`
	BindSecretID       bool               `json:"bind_secret_id"`
	SecretIDBoundCIDRs []string           `json:"secret_id_bound_cidrs,omitempty"`
	SecretIDNumUses    int                `json:"secret_id_num_uses,omitempty"`
	SecretIDTTL        time.Duration      `json:"secret_id_ttl,omitempty"`
	Token              tokenfields.Params `json:"token"`
}

// roleIDEntry maps a role_id to its role.
type roleIDEntry struct {
	Name string `json:"name"`
}

// secretIDEntry is one secret id as stored: everything but the secret.
type secretIDEntry struct {
	// HMAC is the secret id's HMAC, also the last segment of its key;
	// a login compares it in constant time.
	HMAC            string            `json:"hmac"`
	Accessor        string            `json:"secret_id_accessor"`
	NumUses         int               `json:"secret_id_num_uses"`
	TTL             time.Duration     `json:"secret_id_ttl"`
	CreationTime    time.Time         `json:"creation_time"`
	ExpirationTime  time.Time         `json:"expiration_time"`
	LastUpdatedTime time.Time         `json:"last_updated_time"`
	Metadata        map[string]string `json:"metadata"`
	CIDRList        []string          `json:"cidr_list,omitempty"`
	TokenBoundCIDRs []string          `json:"token_bound_cidrs,omitempty"`
}

// expired reports whether the secret id has expired at now.
func (e *secretIDEntry) expired(now time.Time) bool {
	return !e.ExpirationTime.IsZero() && !now.Before(e.ExpirationTime)
}

// accessorEntry maps a secret id accessor to its secret id.
type accessorEntry struct {
	RoleName     string `json:"role_name"`
	SecretIDHMAC string `json:"secret_id_hmac"`
}

// responseData is the Vault shape of a secret id lookup.
func (e *secretIDEntry) responseData() map[string]any {
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{
		"secret_id_accessor": e.Accessor,
		"secret_id_num_uses": e.NumUses,
		"secret_id_ttl":      int64(e.TTL / time.Second),
		"creation_time":      e.CreationTime,
		"expiration_time":    e.ExpirationTime,
		"last_updated_time":  e.LastUpdatedTime,
		"metadata":           md,
		"cidr_list":          nonNil(e.CIDRList),
		"token_bound_cidrs":  nonNil(e.TokenBoundCIDRs),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// saltCache holds the mount's HMAC key once read or created.
type saltCache struct {
	mu  sync.Mutex
	key []byte
}

// hmacer returns a function computing hex HMAC-SHA256 under the mount's
// key, reading the key from s (or creating it) on first use.
func (b *Backend) hmacer(ctx context.Context, s logical.Storage) (func(kind, value string) string, error) {
	key, err := b.keys.get(ctx, s)
	if err != nil {
		return nil, err
	}
	return func(kind, value string) string {
		m := hmac.New(sha256.New, key)
		m.Write(hmacDomain(kind, value))
		return hex.EncodeToString(m.Sum(nil))
	}, nil
}

func (c *saltCache) get(ctx context.Context, s logical.Storage) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil {
		return c.key, nil
	}
	e, err := s.Get(ctx, saltKey)
	if err != nil {
		return nil, fmt.Errorf("approle: read salt: %w", err)
	}
	if e != nil {
		if len(e.Value) != saltLen {
			return nil, fmt.Errorf("%w: salt has %d bytes, want %d", ErrCorrupt, len(e.Value), saltLen)
		}
		c.key = e.Value
		return c.key, nil
	}
	key := make([]byte, saltLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("approle: generate salt: %w", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: saltKey, Value: key}); err != nil {
		return nil, fmt.Errorf("approle: write salt: %w", err)
	}
	c.key = key
	return key, nil
}

// getJSON reads key into out; found is false when the key is absent.
func getJSON(ctx context.Context, s logical.Storage, key string, out any) (bool, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("approle: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, out); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return true, nil
}

// putOp and deleteOp build the storage ops apply runs.
func putOp(key string, v any) (*storage.Op, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("approle: encode %s: %w", key, err)
	}
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: key, Value: raw}}, nil
}

func deleteOp(key string) *storage.Op {
	return &storage.Op{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}
}

// apply runs ops atomically when the storage supports transactions, else
// in order (callers order them so a crash leaves only dangling index
// entries, which lookups ignore and tidy removes).
func apply(ctx context.Context, s logical.Storage, ops ...*storage.Op) error {
	if tx, ok := s.(storage.Transactional); ok {
		if err := tx.Transaction(ctx, ops); err == nil {
			return nil
		} else if !isUnsupported(ctx, tx) {
			return fmt.Errorf("approle: write: %w", err)
		}
	}
	for _, op := range ops {
		var err error
		if op.Kind == storage.OpPut {
			err = s.Put(ctx, op.Entry)
		} else {
			err = s.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return fmt.Errorf("approle: write %s: %w", op.Entry.Key, err)
		}
	}
	return nil
}

// isUnsupported reports whether tx refuses transactions altogether (a
// view over a backend without them), probed with an empty batch.
func isUnsupported(ctx context.Context, tx storage.Transactional) bool {
	return tx.Transaction(ctx, nil) != nil
}
