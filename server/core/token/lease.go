package token

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Leaser ties tokens to the expiration manager, as Vault gives every
// non-root service token a lease: core implements it. The store calls it
// outside its own locks.
type Leaser interface {
	// TokenCreated registers the lease of a new token that expires
	// (e.ExpireTime is set), after the token is stored. An error undoes
	// the token (it is revoked) and is returned to the creator: a token
	// never lives without its lease (a lease-count quota may refuse it).
	TokenCreated(ctx context.Context, e *Entry) error
	// TokenRenewed moves the token's lease to e.ExpireTime after a
	// renewal. An error is returned to the renewing client.
	TokenRenewed(ctx context.Context, e *Entry) error
	// TokenRevoked is called for every token revoked (explicitly, with an
	// ancestor, at its lease's expiry or by tidy) after it is deleted: it
	// revokes the leases the token created and drops the token's own
	// lease. An error is logged; the token stays revoked.
	TokenRevoked(ctx context.Context, e *Entry) error
}

// defaultLeasePath names the lease of a token created without a path.
const defaultLeasePath = "auth/token/create"

// LeaseID is the id of the token's lease: its creation path and a hash
// of its storage key, as Vault's "auth/token/create/h…" (the hash
// reveals neither the token nor its storage key). It is "" for a token
// that never expires (root tokens), which has no lease.
func (e *Entry) LeaseID() string {
	if e.ExpireTime.IsZero() || e.id == "" {
		return ""
	}
	p := strings.Trim(e.Path, "/")
	if p == "" || !strings.HasPrefix(p, "auth/") {
		p = defaultLeasePath
	}
	sum := sha256.Sum256([]byte("secretum-token-lease\x00" + e.id))
	return p + "/h" + hex.EncodeToString(sum[:20])
}
