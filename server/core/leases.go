package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/storage"
)

// The pipeline's lease stage (5) and the expiration manager's link to the
// engines. A response carrying a logical.Secret gets a lease: its TTL
// bounded by the engine's and the mount's maximum, persisted before the
// client sees it; the expiration manager (an active-only service) revokes
// it at expiry by sending the engine a RevokeOperation request, and
// renews it on sys/leases/renew with a RenewOperation request. Each
// revocation and renewal the manager makes on its own is audited.

// newLeaseManager builds the expiration manager over the barrier.
func (c *Core) newLeaseManager() (*expiration.Manager, error) {
	cfg := expiration.DefaultConfig()
	cfg.Storage = storage.NewView(c.barrier, leasePrefix)
	cfg.Revoker = leaseRevoker{c}
	cfg.Now = c.cfg.Now
	cfg.Logger = c.logger.With(slog.String("subsystem", "expiration"))
	if c.cfg.LeaseBackoff > 0 {
		cfg.BaseBackoff = c.cfg.LeaseBackoff
	}
	return expiration.New(cfg)
}

// admitLease refuses, before the engine runs, a request that would
// create a lease its lease-count quota cannot take (so no database user
// is created only to be revoked).
func (c *Core) admitLease(tgt *target, full string) error {
	if tgt.info.Action != "generate" {
		return nil
	}
	return quotaError(c.leases.Admit(full))
}

// registerLease is stage 5: it gives resp.Secret a lease and persists it.
// When the lease cannot be stored the secret is revoked at once and the
// request fails: a secret is never handed out without a lease.
func (c *Core) registerLease(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request, resp *logical.Response) error {
	sec := resp.Secret
	now := c.cfg.Now()
	def, mountMax := mountSystem{c: c, kind: kindOf(tgt), path: entryPath(tgt)}.MountTTLs()
	ttl, max := sec.TTL, sec.MaxTTL
	if ttl <= 0 {
		ttl = def
	}
	if max <= 0 || max > mountMax {
		max = mountMax
	}
	ttl = min(ttl, max)
	l := &expiration.Lease{
		ID: expiration.NewID(call.full), MountPoint: tgt.mount, Path: call.full,
		Secret: sec, IssueTime: now, ExpireTime: now.Add(ttl), MaxExpireTime: now.Add(max),
		Renewable: sec.Renewable,
	}
	sec.IssueTime, sec.TTL, sec.MaxTTL = now, ttl, max
	if te := call.caller; te != nil && !te.ExpireTime.IsZero() {
		l.ClientTokenAccessor = te.Accessor // a token that never expires does not tie its leases
	}
	if err := c.leases.Register(ctx, l); err != nil {
		c.revokeUnleased(tgt, req, sec)
		return quotaError(err)
	}
	sec.LeaseID = l.ID
	return nil
}

// revokeUnleased revokes a secret whose lease could not be stored.
func (c *Core) revokeUnleased(tgt *target, req *logical.Request, sec *logical.Secret) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &logical.Request{ID: req.ID, Operation: logical.RevokeOperation, Path: req.Path, MountPoint: tgt.mount, MountType: tgt.typ, Storage: tgt.view, Secret: sec}
	if _, err := tgt.backend.HandleRequest(ctx, r); err != nil {
		c.logger.Error("core: could not revoke a secret whose lease was not stored", "path", tgt.mount+req.Path, "error", err)
	}
}

// quotaError makes a lease-count quota refusal a 429 naming the quota.
func quotaError(err error) error {
	var q *expiration.QuotaError
	if errors.As(err, &q) {
		return &logical.CodedError{Status: http.StatusTooManyRequests, Message: q.Error()}
	}
	return err
}

func kindOf(tgt *target) mountKind {
	if strings.HasPrefix(tgt.mount, authPrefix) {
		return authMounts
	}
	return secretMounts
}

func entryPath(tgt *target) string {
	if tgt.entry == nil {
		return ""
	}
	return tgt.entry.Path
}

// leaseRevoker sends the expiration manager's renew and revoke requests
// to the lease's mount, and audits them.
type leaseRevoker struct{ c *Core }

var _ expiration.Revoker = leaseRevoker{}

// RevokeLease implements expiration.Revoker.
func (r leaseRevoker) RevokeLease(ctx context.Context, l *expiration.Lease) error {
	if l.Secret.Type == tokenLeaseType {
		return r.revokeTokenLease(ctx, l)
	}
	_, err := r.send(ctx, l, logical.RevokeOperation, nil)
	return err
}

// RenewLease implements expiration.Revoker.
func (r leaseRevoker) RenewLease(ctx context.Context, l *expiration.Lease, increment time.Duration) (*logical.Secret, error) {
	if l.Secret.Type == tokenLeaseType {
		return nil, errTokenLeaseRenew
	}
	resp, err := r.send(ctx, l, logical.RenewOperation, map[string]any{"increment": int64(increment / time.Second)})
	if err != nil {
		return nil, err
	}
	if resp == nil || resp.Secret == nil {
		return nil, fmt.Errorf("core: the %s engine renewed lease %s without a secret", l.MountPoint, l.ID)
	}
	return resp.Secret, nil
}

// send routes one renew or revoke request to the lease's backend, with
// an audit entry pair of its own (the manager's, no client token).
func (r leaseRevoker) send(ctx context.Context, l *expiration.Lease, op logical.Operation, data map[string]any) (*logical.Response, error) {
	st := r.c.active.Load()
	if st == nil {
		return nil, fmt.Errorf("%w: not active", logical.ErrUnavailable)
	}
	rt := st.router.match(l.Path)
	if rt == nil || rt.prefix != l.MountPoint {
		return nil, fmt.Errorf("core: lease %s: its mount %s is gone", l.ID, l.MountPoint)
	}
	sec := *l.Secret
	sec.LeaseID, sec.IssueTime = l.ID, l.IssueTime
	id, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	req := &logical.Request{
		ID: id, Operation: op, Path: relativePath(l.Path, rt.prefix), MountPoint: rt.prefix,
		MountType: rt.entry.Type, Storage: rt.view, Data: data, Secret: &sec,
	}
	e := &audit.Entry{Time: r.c.cfg.Now(), RequestID: id, Operation: string(op), Path: l.Path, MountType: rt.entry.Type, LeaseID: l.ID,
		Decision: audit.Decision{Allowed: true, PolicyIDs: []string{"expiration-manager"}}}
	return r.c.auditedAction(ctx, e, func() (*logical.Response, error) { return rt.backend.HandleRequest(ctx, req) })
}

// LeaseCounts returns the live leases by mount and how many are
// irrevocable (metrics; zero on a standby).
func (c *Core) LeaseCounts() (byMount map[string]int, irrevocable int) {
	s := c.leases.Stats()
	return s.ByMount, s.Irrevocable
}

// LeaseRemaining calls fn with the mount and remaining time of every live
// lease (the secretum_vault_secret_lease_expiry histogram).
func (c *Core) LeaseRemaining(fn func(mount string, remaining time.Duration)) {
	c.leases.RemainingTTLs(fn)
}
