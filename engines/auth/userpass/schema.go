package userpass

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout of a mount (keys relative to its view):
//
//	user/<lower-cased name>   userEntry (JSON)
const userPrefix = "user/"

func userKey(name string) string { return userPrefix + name }

// userEntry is one user as stored. PasswordHash is an argon2id PHC
// string; the password itself is never stored.
type userEntry struct {
	PasswordHash string             `json:"password_hash"`
	Token        tokenfields.Params `json:"token"`
}

// user reads a user by (lower-cased) name; nil when absent.
func (b *Backend) user(ctx context.Context, s logical.Storage, name string) (*userEntry, error) {
	e, err := s.Get(ctx, userKey(name))
	if err != nil {
		return nil, fmt.Errorf("userpass: read user: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var u userEntry
	if err := json.Unmarshal(e.Value, &u); err != nil {
		return nil, fmt.Errorf("%w: user %q: %w", ErrCorrupt, name, err)
	}
	return &u, nil
}

// saveUser writes a user.
func (b *Backend) saveUser(ctx context.Context, s logical.Storage, name string, u *userEntry) error {
	raw, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("userpass: encode user: %w", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: userKey(name), Value: raw}); err != nil {
		return fmt.Errorf("userpass: write user: %w", err)
	}
	return nil
}

// normalize lower-cases a username, as Vault does.
func normalize(name string) string { return strings.ToLower(name) }
