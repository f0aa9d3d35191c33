package expiration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// RegisterOption changes how Register treats one lease.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	skipQuota bool
}

// SkipQuota exempts the lease from the lease-count quotas (Vault does not
// apply them to root tokens). The lease is still counted.
func SkipQuota() RegisterOption {
	return func(o *registerOptions) { o.skipQuota = true }
}

// Register persists a new lease, then schedules its revocation at
// l.ExpireTime. The caller has bounded ExpireTime and MaxExpireTime by
// the role's and mount's TTLs. The manager's fields (Irrevocable,
// Attempts, LastError, NextAttempt) are reset; a zero IssueTime becomes
// now; l itself is not modified.
//
// It returns a *QuotaError (errors.Is logical.ErrRateLimited) when the
// lease-count quota governing l.ID is full, ErrInvalidLease for a lease
// built wrongly or an id already registered, ErrNotActive when not
// running. During the load, quota counts are partial (see SetQuota).
func (m *Manager) Register(ctx context.Context, l *Lease, opts ...RegisterOption) error {
	var o registerOptions
	for _, opt := range opts {
		opt(&o)
	}
	c, err := prepareNew(l, m.cfg.Now())
	if err != nil {
		return err
	}
	e, x, err := m.reserve(c, o.skipQuota)
	if err != nil {
		return err
	}
	defer m.locks.lock(c.ID)()
	err = m.create(ctx, c)
	m.mu.Lock()
	switch {
	case m.idx == x && err != nil:
		x.remove(e)
	case m.idx == x:
		x.install(e, c)
	case m.idx != nil && err == nil && m.idx.leases[c.ID] == nil:
		// A new period began meanwhile and its load did not see the lease.
		e = &entry{id: c.ID}
		m.idx.add(e)
		m.idx.install(e, c)
	}
	p := m.run
	m.mu.Unlock()
	if p != nil {
		p.poke()
	}
	return err
}

// reserve indexes a new lease in state registering, taking its quota
// slot, and returns it with the index it is in.
func (m *Manager) reserve(l *Lease, skipQuota bool) (*entry, *index, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.idx
	if x == nil {
		return nil, nil, ErrNotActive
	}
	if x.leases[l.ID] != nil {
		return nil, nil, invalidLease("lease %s is already registered", l.ID)
	}
	if q := x.governing(l.ID); q != nil && !skipQuota && q.count >= q.MaxLeases {
		return nil, nil, &QuotaError{Name: q.Name, Path: q.Path, MaxLeases: q.MaxLeases}
	}
	e := &entry{id: l.ID, mount: x.intern(l.MountPoint), expire: l.ExpireTime, state: stateRegistering}
	x.add(e)
	return e, x, nil
}

// Lookup returns the stored lease id (read from storage, so it works
// during the load), or an error matching logical.ErrNotFound.
func (m *Manager) Lookup(ctx context.Context, id string) (*Lease, error) {
	if err := m.active(); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, logical.InvalidRequest("lease_id", "missing lease id")
	}
	l, err := m.read(ctx, id)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("expiration: lease %s: %w", id, logical.ErrNotFound)
	}
	return l, nil
}

// List returns the lease ids and folders directly under prefix, as
// Vault's LIST sys/leases/lookup/<prefix>: keys relative to the prefix,
// folders once each with a trailing "/", in lexical order. A prefix
// without a trailing "/" gets one; "" lists the mounts' top folders.
func (m *Manager) List(ctx context.Context, prefix string) ([]string, error) {
	if err := m.active(); err != nil {
		return nil, err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := m.cfg.Storage.List(ctx, leaseKey(prefix))
	if err != nil {
		return nil, fmt.Errorf("expiration: list leases under %q: %w", prefix, err)
	}
	return keys, nil
}

// Renew extends lease id by increment (0: the engine's choice) through
// Revoker.RenewLease, capped at the lease's MaxExpireTime, persists it
// and reschedules it. It returns the renewed lease. A lease that is not
// renewable, expired, irrevocable or at its max TTL gets an error
// matching logical.ErrInvalidRequest; an absent one logical.ErrNotFound.
func (m *Manager) Renew(ctx context.Context, id string, increment time.Duration) (*Lease, error) {
	if increment < 0 {
		return nil, logical.InvalidRequest("increment", "must not be negative")
	}
	defer m.locks.lock(id)()
	l, err := m.renewLocked(ctx, id, increment)
	if err != nil {
		return nil, err
	}
	m.update(func(x *index) {
		e := x.leases[id]
		if e == nil {
			e = &entry{id: id}
			x.add(e)
		}
		x.install(e, l)
	})
	return l, nil
}

// renewLocked is Renew under the lease's stripe lock.
func (m *Manager) renewLocked(ctx context.Context, id string, increment time.Duration) (*Lease, error) {
	l, err := m.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now()
	switch {
	case l.Irrevocable:
		return nil, logical.InvalidRequest("lease_id", "lease is irrevocable")
	case !l.Renewable:
		return nil, logical.InvalidRequest("lease_id", "lease is not renewable")
	case !l.ExpireTime.After(now):
		return nil, logical.InvalidRequest("lease_id", "lease expired")
	case !l.MaxExpireTime.IsZero() && !l.MaxExpireTime.After(now):
		return nil, logical.InvalidRequest("lease_id", "past the max TTL, cannot renew")
	}
	s, err := m.cfg.Revoker.RenewLease(ctx, l, increment)
	if err != nil {
		return nil, fmt.Errorf("expiration: renew lease %s: %w", id, err)
	}
	ttl := increment
	if s != nil && s.TTL > 0 {
		ttl = s.TTL
	}
	if ttl <= 0 {
		ttl = l.Secret.TTL
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("expiration: renew lease %s: no TTL granted", id)
	}
	l.ExpireTime, l.LastRenewalTime = now.Add(ttl), now
	if !l.MaxExpireTime.IsZero() && l.ExpireTime.After(l.MaxExpireTime) {
		l.ExpireTime = l.MaxExpireTime
	}
	if s != nil && s.InternalData != nil {
		l.Secret.InternalData = s.InternalData
	}
	if err := m.write(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Admit reports whether a lease for path (a request path such as
// "database/creds/app") would be admitted by its lease-count quota now,
// so that an engine is not asked to create a secret (a database user)
// that Register would refuse: a *QuotaError when the governing quota is
// full. Register still decides (a slot may be taken in between).
func (m *Manager) Admit(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	x := m.idx
	if x == nil {
		return ErrNotActive
	}
	if q := x.governing(path + "/"); q != nil && q.count >= q.MaxLeases {
		return &QuotaError{Name: q.Name, Path: q.Path, MaxLeases: q.MaxLeases}
	}
	return nil
}
