package expiration

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Leases whose life another component decides (a token's lease follows
// the token store's renewals and revocations) are moved with Extend and
// dropped with Forget instead of Renew and Revoke.

// revokingKey marks the context of a Revoker call with the lease being
// revoked, so that a Forget of that very lease from inside the call
// (the token store telling core the token is gone) does not wait for the
// lock the revocation holds.
type revokingKey struct{}

func withRevoking(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, revokingKey{}, id)
}

func revokingOf(ctx context.Context) string {
	id, _ := ctx.Value(revokingKey{}).(string)
	return id
}

// Extend sets lease id's expiry to expire (capped at its MaxExpireTime)
// without asking the Revoker: the owner of the secret renewed it
// itself. An absent lease is an error matching logical.ErrNotFound.
func (m *Manager) Extend(ctx context.Context, id string, expire time.Time) error {
	if err := m.active(); err != nil {
		return err
	}
	defer m.locks.lock(id)()
	l, err := m.read(ctx, id)
	if err != nil {
		return err
	}
	if l == nil {
		return fmt.Errorf("expiration: extend lease %s: %w", id, logical.ErrNotFound)
	}
	if !l.MaxExpireTime.IsZero() && expire.After(l.MaxExpireTime) {
		expire = l.MaxExpireTime
	}
	l.ExpireTime, l.LastRenewalTime = expire, m.cfg.Now()
	l.Attempts, l.LastError, l.NextAttempt = 0, "", time.Time{}
	if err := m.write(ctx, l); err != nil {
		return err
	}
	m.update(func(x *index) {
		e := x.leases[id]
		if e == nil {
			e = &entry{id: id}
			x.add(e)
		}
		x.install(e, l)
	})
	return nil
}

// Forget deletes lease id without revoking it: its secret is already
// gone (the token was revoked by the token store). Called from inside
// the revocation of that same lease, it does nothing: the revocation
// deletes the lease when it returns. An absent lease is not an error.
func (m *Manager) Forget(ctx context.Context, id string) error {
	if err := m.active(); err != nil {
		return err
	}
	if id == "" || revokingOf(ctx) == id {
		return nil
	}
	defer m.locks.lock(id)()
	l, err := m.read(ctx, id)
	if err != nil || l == nil {
		return err
	}
	if err := m.remove(ctx, l); err != nil {
		return err
	}
	m.forget(id)
	return nil
}
