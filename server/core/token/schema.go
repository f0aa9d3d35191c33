package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout inside the store's view. <h> is always the hex
// HMAC-SHA256(salt, raw token); <a> is HMAC-SHA256(salt, accessor).
//
//	salt                 32 random bytes, created by the first Setup
//	id/<h>               JSON record of the token
//	accessor/<a>         JSON accessorRecord{token: <h>}
//	parent/<ph>/<h>      empty marker: <h> is a child of <ph>
const (
	saltKey        = "salt"
	idPrefix       = "id/"
	accessorPrefix = "accessor/"
	parentPrefix   = "parent/"
	saltLen        = 32
)

func idKey(h string) string               { return idPrefix + h }
func accessorKey(ah string) string        { return accessorPrefix + ah }
func parentKey(parent, h string) string   { return parentPrefix + parent + "/" + h }
func childrenPrefix(parent string) string { return parentPrefix + parent + "/" }

// record is the stored form of an Entry.
type record struct {
	ID              string            `json:"id"`
	Parent          string            `json:"parent,omitempty"`
	Accessor        string            `json:"accessor"`
	Policies        []string          `json:"policies"`
	DisplayName     string            `json:"display_name"`
	Meta            map[string]string `json:"meta,omitempty"`
	EntityID        string            `json:"entity_id,omitempty"`
	TTL             time.Duration     `json:"ttl"`
	ExplicitMaxTTL  time.Duration     `json:"explicit_max_ttl"`
	Period          time.Duration     `json:"period,omitempty"`
	CreationTime    time.Time         `json:"creation_time"`
	ExpireTime      time.Time         `json:"expire_time"`
	LastRenewalTime time.Time         `json:"last_renewal_time"`
	Renewable       bool              `json:"renewable"`
	NumUses         int               `json:"num_uses"`
	Limited         bool              `json:"limited,omitempty"`
	Path            string            `json:"path"`
	BoundCIDRs      []string          `json:"bound_cidrs,omitempty"`
}

// accessorRecord is the value of an accessor index entry.
type accessorRecord struct {
	Token string `json:"token"`
}

func toRecord(e *Entry) *record {
	return &record{
		ID: e.id, Parent: e.parent, Accessor: e.Accessor, Policies: e.Policies,
		DisplayName: e.DisplayName, Meta: e.Meta, EntityID: e.EntityID,
		TTL: e.TTL, ExplicitMaxTTL: e.ExplicitMaxTTL, Period: e.Period,
		CreationTime: e.CreationTime, ExpireTime: e.ExpireTime,
		LastRenewalTime: e.LastRenewalTime, Renewable: e.Renewable,
		NumUses: e.NumUses, Limited: e.limited, Path: e.Path, BoundCIDRs: e.BoundCIDRs,
	}
}

func (r *record) entry() *Entry {
	return &Entry{
		id: r.ID, parent: r.Parent, Accessor: r.Accessor, Policies: r.Policies,
		DisplayName: r.DisplayName, Meta: r.Meta, EntityID: r.EntityID,
		TTL: r.TTL, ExplicitMaxTTL: r.ExplicitMaxTTL, Period: r.Period,
		CreationTime: r.CreationTime, ExpireTime: r.ExpireTime,
		LastRenewalTime: r.LastRenewalTime, Renewable: r.Renewable,
		NumUses: r.NumUses, limited: r.Limited, Path: r.Path,
		Orphan: r.Parent == "", BoundCIDRs: r.BoundCIDRs,
	}
}

// hmacKey returns the salt or ErrNotSetup.
func (s *Store) hmacKey() ([]byte, error) {
	p := s.salt.Load()
	if p == nil {
		return nil, ErrNotSetup
	}
	return *p, nil
}

// hash returns hex HMAC-SHA256(salt, secret).
func (s *Store) hash(secret string) (string, error) {
	key, err := s.hmacKey()
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// sameHash compares two salted hashes in constant time.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Store) loadOrCreateSalt(ctx context.Context) ([]byte, error) {
	se, err := s.view.Get(ctx, saltKey)
	if err != nil {
		return nil, fmt.Errorf("read salt: %w", err)
	}
	if se != nil {
		if len(se.Value) != saltLen {
			return nil, fmt.Errorf("stored salt has %d bytes, want %d", len(se.Value), saltLen)
		}
		return se.Value, nil
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("generate salt: %w", err)
	}
	if err := s.view.Put(ctx, &storage.Entry{Key: saltKey, Value: salt}); err != nil {
		return nil, fmt.Errorf("write salt: %w", err)
	}
	return salt, nil
}

// probeTransactions reports whether the view really supports atomic
// batches (a View over a non-transactional backend says no only when asked).
func (s *Store) probeTransactions(ctx context.Context) bool {
	tx, ok := s.view.(storage.Transactional)
	return ok && tx.Transaction(ctx, nil) == nil
}

// apply writes ops atomically when the view can, else in the given order.
// Callers order ops so that a crash midway leaves only dangling index
// entries, which lookups ignore and Tidy removes.
func (s *Store) apply(ctx context.Context, ops []*storage.Op) error {
	if s.txOK.Load() {
		if tx, ok := s.view.(storage.Transactional); ok {
			return tx.Transaction(ctx, ops)
		}
	}
	for _, op := range ops {
		var err error
		switch op.Kind {
		case storage.OpPut:
			err = s.view.Put(ctx, op.Entry)
		case storage.OpDelete:
			err = s.view.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func putOp(key string, value []byte) *storage.Op {
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: key, Value: value}}
}

func deleteOp(key string) *storage.Op {
	return &storage.Op{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}
}

// load reads the entry stored under hash h; (nil, nil) if absent.
func (s *Store) load(ctx context.Context, h string) (*Entry, error) {
	se, err := s.view.Get(ctx, idKey(h))
	if err != nil {
		return nil, fmt.Errorf("token: read entry: %w", err)
	}
	if se == nil {
		return nil, nil
	}
	var r record
	if err := json.Unmarshal(se.Value, &r); err != nil {
		return nil, fmt.Errorf("token: decode entry: %w", err)
	}
	if !sameHash(r.ID, h) {
		return nil, fmt.Errorf("token: stored entry names another token: %w", ErrCorrupt)
	}
	return r.entry(), nil
}

// entryOp returns the op that stores e.
func entryOp(e *Entry) (*storage.Op, error) {
	b, err := json.Marshal(toRecord(e))
	if err != nil {
		return nil, fmt.Errorf("token: encode entry: %w", err)
	}
	return putOp(idKey(e.id), b), nil
}

// save stores e (already indexed).
func (s *Store) save(ctx context.Context, e *Entry) error {
	op, err := entryOp(e)
	if err != nil {
		return err
	}
	if err := s.view.Put(ctx, op.Entry); err != nil {
		return fmt.Errorf("token: write entry: %w", err)
	}
	return nil
}

// byAccessor returns the token hash an accessor points at; "" if none.
func (s *Store) byAccessor(ctx context.Context, accessor string) (string, error) {
	if accessor == "" {
		return "", nil
	}
	ah, err := s.hash(accessor)
	if err != nil {
		return "", err
	}
	se, err := s.view.Get(ctx, accessorKey(ah))
	if err != nil {
		return "", fmt.Errorf("token: read accessor index: %w", err)
	}
	if se == nil {
		return "", nil
	}
	var ar accessorRecord
	if err := json.Unmarshal(se.Value, &ar); err != nil {
		return "", fmt.Errorf("token: decode accessor index: %w", err)
	}
	return ar.Token, nil
}
