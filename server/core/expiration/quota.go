package expiration

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Quota is a lease-count quota, as Vault's sys/quotas/lease-count/:name.
//
// Path is a lease path prefix: a mount ("database/"), a path under one
// ("database/creds/ro"), or "" for the global quota; a trailing "/" is
// added. As in Vault, the most specific quota governs a lease: the one
// whose path is the longest prefix of the lease id; the global quota
// governs only leases no other quota does. A quota counts the live
// leases it governs (irrevocable ones included, since their secrets may
// still exist); Register refuses a lease whose governing quota is full,
// and a revocation frees its slot. Setting a quota counts the leases
// already there, which may exceed MaxLeases (as in Vault): no new lease
// is admitted until enough are revoked.
//
// Counts are kept in memory and rebuilt by each active period's load:
// its first phase lists the stored lease ids (the id names the path, so
// no record need be read), and until that phase ends the counts miss the
// leases not listed yet. Register may then admit more leases than a
// quota allows, by at most the number of leases not yet listed; the
// counts are exact from the end of the listing (Stats().Loaded is a
// later, stronger signal).
type Quota struct {
	Name      string
	Path      string
	MaxLeases int
}

// QuotaStatus is a quota and the live leases it counts now.
type QuotaStatus struct {
	Quota
	Count int
}

// quotaState is a quota in memory.
type quotaState struct {
	Quota
	prefix string // Path, the prefix lease ids are matched against
	count  int
}

// normalizeQuotaPath drops a leading "/" and adds a trailing one.
func normalizeQuotaPath(p string) string {
	p = strings.TrimPrefix(p, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func validateQuota(q Quota) error {
	switch {
	case q.Name == "":
		return logical.InvalidRequest("name", "missing quota name")
	case strings.Contains(q.Name, "/") || storage.ValidateKey(q.Name) != nil:
		return logical.InvalidRequest("name", "invalid quota name")
	case q.MaxLeases < 1:
		return logical.InvalidRequest("max_leases", "must be a positive integer")
	case strings.Contains(q.Path, "//") || storage.ValidateKey("x"+q.Path) != nil:
		return logical.InvalidRequest("path", "invalid path")
	}
	return nil
}

// SetQuota creates or replaces the quota named q.Name and counts the
// live leases it now governs. Two quotas may not have the same path.
func (m *Manager) SetQuota(ctx context.Context, q Quota) error {
	if err := m.active(); err != nil {
		return err
	}
	q.Path = normalizeQuotaPath(q.Path)
	if err := validateQuota(q); err != nil {
		return err
	}
	m.quotaMu.Lock()
	defer m.quotaMu.Unlock()
	m.mu.RLock()
	var clash string
	if m.idx != nil {
		for _, o := range m.idx.quotas {
			if o.Name != q.Name && o.prefix == q.Path {
				clash = o.Name
			}
		}
	}
	m.mu.RUnlock()
	if clash != "" {
		return logical.InvalidRequest("path", "quota %q already applies to this path", clash)
	}
	b, err := json.Marshal(quotaRecord(q))
	if err != nil {
		return fmt.Errorf("expiration: encode quota %s: %w", q.Name, err)
	}
	if err := m.cfg.Storage.Put(ctx, &storage.Entry{Key: quotaKey(q.Name), Value: b}); err != nil {
		return fmt.Errorf("expiration: write quota %s: %w", q.Name, err)
	}
	m.update(func(x *index) {
		x.quotas = slices.DeleteFunc(x.quotas, func(o *quotaState) bool { return o.Name == q.Name })
		x.quotas = sortQuotas(append(x.quotas, &quotaState{Quota: q, prefix: q.Path}))
		x.recount()
	})
	return nil
}

// sortQuotas orders quotas most specific first (then by name).
func sortQuotas(qs []*quotaState) []*quotaState {
	slices.SortFunc(qs, func(a, b *quotaState) int {
		if c := cmp.Compare(len(b.prefix), len(a.prefix)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return qs
}

// DeleteQuota deletes the quota named name; an absent one is not an error.
func (m *Manager) DeleteQuota(ctx context.Context, name string) error {
	if err := m.active(); err != nil {
		return err
	}
	if name == "" {
		return logical.InvalidRequest("name", "missing quota name")
	}
	m.quotaMu.Lock()
	defer m.quotaMu.Unlock()
	if err := m.cfg.Storage.Delete(ctx, quotaKey(name)); err != nil {
		return fmt.Errorf("expiration: delete quota %s: %w", name, err)
	}
	m.update(func(x *index) {
		x.quotas = slices.DeleteFunc(x.quotas, func(o *quotaState) bool { return o.Name == name })
		x.recount()
	})
	return nil
}

// GetQuota returns the quota named name with its count, or an error
// matching logical.ErrNotFound.
func (m *Manager) GetQuota(ctx context.Context, name string) (QuotaStatus, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.idx == nil {
		return QuotaStatus{}, ErrNotActive
	}
	for _, q := range m.idx.quotas {
		if q.Name == name {
			return QuotaStatus{Quota: q.Quota, Count: q.count}, nil
		}
	}
	return QuotaStatus{}, fmt.Errorf("expiration: quota %q: %w", name, logical.ErrNotFound)
}

// ListQuotas returns the quota names in lexical order.
func (m *Manager) ListQuotas(ctx context.Context) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.idx == nil {
		return nil, ErrNotActive
	}
	names := make([]string, 0, len(m.idx.quotas))
	for _, q := range m.idx.quotas {
		names = append(names, q.Name)
	}
	slices.Sort(names)
	return names, nil
}

// loadQuotas reads the stored quotas. A record that does not decode is
// logged and skipped (it can be set again).
func (m *Manager) loadQuotas(ctx context.Context) ([]*quotaState, error) {
	names, err := m.cfg.Storage.List(ctx, quotaPrefix)
	if err != nil {
		return nil, fmt.Errorf("expiration: list quotas: %w", err)
	}
	var qs []*quotaState
	for _, name := range names {
		se, err := m.cfg.Storage.Get(ctx, quotaKey(name))
		if err != nil {
			return nil, fmt.Errorf("expiration: read quota %s: %w", name, err)
		}
		var r quotaRecord
		if se == nil || strings.HasSuffix(name, "/") {
			continue
		}
		if err := json.Unmarshal(se.Value, &r); err != nil || r.Name != name {
			m.cfg.Logger.Error("expiration: skipping a corrupt quota record", "quota", name)
			continue
		}
		q := Quota(r)
		qs = append(qs, &quotaState{Quota: q, prefix: normalizeQuotaPath(q.Path)})
	}
	return sortQuotas(qs), nil
}
