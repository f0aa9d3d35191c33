package expiration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Revoke revokes lease id now: Revoker.RevokeLease (with ctx), then the
// lease is deleted and its quota slot freed. When the revocation fails
// the error is returned and the lease kept as it was. An absent lease is
// not an error (as Vault). Irrevocable leases are tried again.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	if err := m.active(); err != nil {
		return err
	}
	if id == "" {
		return logical.InvalidRequest("lease_id", "missing lease id")
	}
	return m.revokeOne(ctx, id, false)
}

// revokeOne revokes id under its stripe lock; force deletes the lease
// even when the backend revocation fails (the failure is logged).
func (m *Manager) revokeOne(ctx context.Context, id string, force bool) error {
	defer m.locks.lock(id)()
	l, err := m.read(ctx, id)
	if err != nil && !(force && errors.Is(err, ErrCorrupt)) {
		return err
	}
	if l == nil && err == nil {
		m.forget(id)
		return nil
	}
	if l == nil { // corrupt record, forced: delete what can be
		if err := m.cfg.Storage.Delete(ctx, leaseKey(id)); err != nil {
			return fmt.Errorf("expiration: delete lease %s: %w", id, err)
		}
		m.forget(id)
		return nil
	}
	if err := m.cfg.Revoker.RevokeLease(withRevoking(ctx, id), l); err != nil {
		if !force {
			return fmt.Errorf("expiration: revoke lease %s: %w", id, err)
		}
		m.cfg.Logger.Warn("expiration: forced revocation: backend revocation failed, deleting the lease anyway",
			"lease_id", id, "error", err)
	}
	if err := m.remove(ctx, l); err != nil {
		return err
	}
	m.forget(id)
	return nil
}

// forget drops id from memory (its record is gone), freeing its quota
// slot at once; a worker holding the entry finds it unindexed.
func (m *Manager) forget(id string) {
	m.update(func(x *index) { x.forget(id) })
}

// RevokePrefix revokes every lease whose id is under prefix, as Vault's
// sys/leases/revoke-prefix (force=false) and revoke-force (force=true).
// A prefix without a trailing "/" that names a lease revokes that lease;
// otherwise it gets a "/". Leases are revoked Workers at a time. Without
// force, the leases whose revocation fails are kept and the error names
// how many and wraps the first failure; with force, backend failures are
// logged and every lease is deleted.
func (m *Manager) RevokePrefix(ctx context.Context, prefix string, force bool) error {
	if err := m.active(); err != nil {
		return err
	}
	prefix = strings.TrimPrefix(prefix, "/")
	if prefix == "" {
		return logical.InvalidRequest("prefix", "missing prefix")
	}
	if !strings.HasSuffix(prefix, "/") {
		se, err := m.cfg.Storage.Get(ctx, leaseKey(prefix))
		if err != nil {
			return fmt.Errorf("expiration: read lease %s: %w", prefix, err)
		}
		if se != nil {
			return m.revokeOne(ctx, prefix, force)
		}
		prefix += "/"
	}
	var ids []string
	err := walk(ctx, m.cfg.Storage, leaseKey(prefix), func(rel string) error {
		ids = append(ids, prefix+rel)
		return nil
	})
	if err != nil {
		return err
	}
	failed, first := m.parallel(ctx, ids, func(id string) error { return m.revokeOne(ctx, id, force) })
	if failed > 0 {
		return fmt.Errorf("expiration: revoke prefix %s: %d of %d leases not revoked: %w", prefix, failed, len(ids), first)
	}
	return nil
}

// parallel runs fn on every id, Workers at a time, and returns how many
// failed and the first failure. It stops starting new ones once ctx ends.
func (m *Manager) parallel(ctx context.Context, ids []string, fn func(id string) error) (int, error) {
	var (
		next, failed atomic.Int64
		once         sync.Once
		first        error
		wg           sync.WaitGroup
	)
	for range min(m.cfg.Workers, len(ids)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(ids[i])
				}
				if err != nil {
					failed.Add(1)
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load()), first
}

// RevokeByToken revokes every lease created by the token with accessor,
// as Vault does: each lease's ExpireTime becomes now (persisted) and the
// workers revoke it, with retries and the irrevocable mark if it keeps
// failing. It returns once every lease is marked; an error means some
// could not be (storage), and names how many. The core calls it for the
// token and each child token it revokes.
func (m *Manager) RevokeByToken(ctx context.Context, accessor string) error {
	if err := m.active(); err != nil {
		return err
	}
	if accessor == "" {
		return logical.InvalidRequest("accessor", "missing accessor")
	}
	dir := tokenDir(accessor)
	keys, err := m.cfg.Storage.List(ctx, dir)
	if err != nil {
		return fmt.Errorf("expiration: list leases of token: %w", err)
	}
	failed, first := m.parallel(ctx, keys, func(k string) error {
		return m.expireNow(ctx, accessor, dir+k)
	})
	if failed > 0 {
		return fmt.Errorf("expiration: revoke by token: %d of %d leases not marked: %w", failed, len(keys), first)
	}
	return nil
}

// expireNow makes the lease the token index entry key points at expire
// now; a dangling index entry is deleted.
func (m *Manager) expireNow(ctx context.Context, accessor, key string) error {
	se, err := m.cfg.Storage.Get(ctx, key)
	if err != nil || se == nil {
		return err
	}
	id := string(se.Value)
	defer m.locks.lock(id)()
	l, err := m.read(ctx, id)
	if err != nil {
		return err
	}
	if l == nil || l.ClientTokenAccessor != accessor {
		return m.cfg.Storage.Delete(ctx, key)
	}
	now := m.cfg.Now()
	if l.Irrevocable || !l.ExpireTime.After(now) {
		return nil // already due (or past retrying)
	}
	l.ExpireTime = now
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
