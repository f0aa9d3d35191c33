package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
)

// leasePaths are Vault's lease endpoints (sys/leases/* and the older
// sys/renew, sys/revoke*) and the lease-count quotas
// (sys/quotas/lease-count/:name).
func (c sysHandlers) leasePaths() []*framework.Path {
	h := &leaseHandlers{c: c.Core}
	f := map[string]*framework.FieldSchema{
		"lease_id":     {Type: framework.TypeString, Description: "The lease id."},
		"url_lease_id": {Type: framework.TypeString, Description: "The lease id, in the path."},
		"increment":    {Type: framework.TypeDuration, Description: "The requested extension of a renewal."},
		"prefix":       {Type: framework.TypeString, Description: "A lease id prefix."},
		"sync":         {Type: framework.TypeBool, Default: true, Description: "Wait for the revocation (always true)."},
		"name":         {Type: framework.TypeString, Description: "The quota's name."},
		"path":         {Type: framework.TypeString, Description: "The mount (or mount path) the quota governs; empty for global."},
		"max_leases":   {Type: framework.TypeInt, Description: "The most live leases the quota allows."},
		"type":         {Type: framework.TypeString, Description: "Accepted for Vault compatibility."},
	}
	renew := map[logical.Operation]string{logical.UpdateOperation: "renew"}
	revoke := map[logical.Operation]string{logical.UpdateOperation: "revoke"}
	p := func(pattern string, ops map[logical.Operation]framework.OperationHandler, actions map[logical.Operation]string, help string) *framework.Path {
		return &framework.Path{Pattern: pattern, Fields: f, Operations: ops, Actions: actions, HelpSynopsis: help}
	}
	return []*framework.Path{
		p("leases/lookup", writeOp(h.lookup), nil, "Look up a lease."),
		p("leases/lookup/?", listOp(h.list), nil, "List the leases under a prefix."),
		p("leases/lookup/(?P<prefix>.+)", listOp(h.list), nil, "List the leases under a prefix."),
		p("(leases/)?renew(/(?P<url_lease_id>.+))?", writeOp(h.renew), renew, "Renew a lease."),
		p("(leases/)?revoke(/(?P<url_lease_id>.+))?", writeOp(h.revoke), revoke, "Revoke a lease."),
		p("(leases/)?revoke-prefix/(?P<prefix>.+)", writeOp(h.revokePrefix(false)), nil, "Revoke every lease under a prefix."),
		p("(leases/)?revoke-force/(?P<prefix>.+)", writeOp(h.revokePrefix(true)), nil, "Delete every lease under a prefix, even those the engine cannot revoke."),
		p("leases/tidy", writeOp(h.tidy), nil, "Remove lease index entries pointing at nothing."),
		p("quotas/lease-count/?", listOp(h.listQuotas), nil, "List the lease-count quotas."),
		p("quotas/lease-count/(?P<name>.+)", map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: h.readQuota, logical.UpdateOperation: h.writeQuota, logical.DeleteOperation: h.deleteQuota,
		}, nil, "Write, read or delete a lease-count quota."),
	}
}

// leaseHandlers serve the lease endpoints from the expiration manager.
type leaseHandlers struct{ c *Core }

func (h *leaseHandlers) manager() (*expiration.Manager, error) {
	if _, err := h.c.state(); err != nil {
		return nil, err
	}
	return h.c.leases, nil
}

// leaseID is the request's lease id, from the body or the path.
func leaseID(d *framework.FieldData) (string, error) {
	id := d.String("lease_id")
	if id == "" {
		id = d.String("url_lease_id")
	}
	if id = strings.Trim(id, "/"); id == "" {
		return "", logical.InvalidRequest("lease_id", "missing lease id")
	}
	return id, nil
}

func (h *leaseHandlers) lookup(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	id, err := leaseID(d)
	if err != nil {
		return nil, err
	}
	l, err := m.Lookup(ctx, id)
	if errors.Is(err, logical.ErrNotFound) {
		// Vault's answer for an unknown lease.
		return nil, logical.InvalidRequest("lease_id", "invalid lease")
	}
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: leaseData(l, h.c.cfg.Now())}, nil
}

// leaseData renders a lease as Vault's sys/leases/lookup does; internal
// data (what the engine revokes with) is never shown.
func leaseData(l *expiration.Lease, now time.Time) map[string]any {
	out := map[string]any{
		"id": l.ID, "issue_time": l.IssueTime.UTC().Format(time.RFC3339Nano),
		"expire_time": l.ExpireTime.UTC().Format(time.RFC3339Nano), "last_renewal": nil,
		"renewable": l.Renewable, "ttl": int64(l.TTL(now) / time.Second),
	}
	if !l.LastRenewalTime.IsZero() {
		out["last_renewal"] = l.LastRenewalTime.UTC().Format(time.RFC3339Nano)
	}
	if l.Irrevocable {
		out["irrevocable"], out["last_error"] = true, l.LastError
	}
	return out
}

func (h *leaseHandlers) list(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	keys, err := m.List(ctx, d.String("prefix"))
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no leases under %q", logical.ErrNotFound, d.String("prefix"))
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (h *leaseHandlers) renew(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	id, err := leaseID(d)
	if err != nil {
		return nil, err
	}
	l, err := m.Renew(ctx, id, d.Duration("increment"))
	if err != nil {
		return nil, err
	}
	// The TTL granted at the renewal (not the time left a moment later,
	// which truncates to a second short), as Vault answers.
	ttl := l.TTL(h.c.cfg.Now())
	if !l.LastRenewalTime.IsZero() {
		ttl = l.ExpireTime.Sub(l.LastRenewalTime)
	}
	return &logical.Response{Secret: &logical.Secret{LeaseID: l.ID, TTL: ttl, Renewable: l.Renewable}}, nil
}

func (h *leaseHandlers) revoke(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	id, err := leaseID(d)
	if err != nil {
		return nil, err
	}
	return nil, m.Revoke(ctx, id)
}

func (h *leaseHandlers) revokePrefix(force bool) framework.OperationHandler {
	return func(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
		m, err := h.manager()
		if err != nil {
			return nil, err
		}
		prefix := strings.Trim(d.String("prefix"), "/")
		if prefix == "" {
			return nil, logical.InvalidRequest("prefix", "missing prefix")
		}
		return nil, m.RevokePrefix(ctx, prefix, force)
	}
}

func (h *leaseHandlers) tidy(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	n, err := m.Tidy(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"removed": n}}, nil
}

func (h *leaseHandlers) listQuotas(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	names, err := m.ListQuotas(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no lease-count quotas", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func (h *leaseHandlers) readQuota(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	q, err := m.GetQuota(ctx, d.String("name"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"name": q.Name, "path": q.Path, "max_leases": q.MaxLeases, "type": "lease-count", "counter": q.Count,
	}}, nil
}

func (h *leaseHandlers) writeQuota(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	if d.Int("max_leases") <= 0 {
		return nil, logical.InvalidRequest("max_leases", "max_leases must be positive")
	}
	return nil, m.SetQuota(ctx, expiration.Quota{Name: d.String("name"), Path: d.String("path"), MaxLeases: d.Int("max_leases")})
}

func (h *leaseHandlers) deleteQuota(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := h.manager()
	if err != nil {
		return nil, err
	}
	return nil, m.DeleteQuota(ctx, d.String("name"))
}
