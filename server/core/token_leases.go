package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// Tokens' leases. As in Vault, every token that expires has a lease in
// the expiration manager ("auth/token/create/h…"): at its expiry the
// manager revokes the token with its children and every lease they
// created, on time and on whichever node is active — not only when a
// tidy comes by. The token store keeps the token's own TTL rules; the
// lease follows them (TokenRenewed moves it, TokenRevoked drops it).

// tokenLeaseType is the Secret.Type of a token's lease.
const tokenLeaseType = "token"

// tokenLeaser implements token.Leaser over the expiration manager.
type tokenLeaser struct{ c *Core }

var _ token.Leaser = tokenLeaser{}

// TokenCreated implements token.Leaser: it registers the token's lease,
// counted by lease-count quotas like any other (a full one refuses the
// token with a 429).
func (t tokenLeaser) TokenCreated(ctx context.Context, e *token.Entry) error {
	id := e.LeaseID()
	if id == "" {
		return nil
	}
	l := &expiration.Lease{
		ID: id, MountPoint: t.c.tokenLeaseMount(id), Path: id[:strings.LastIndex(id, "/")],
		Secret: &logical.Secret{
			Type: tokenLeaseType, TTL: e.TTL, Renewable: e.Renewable,
			InternalData: map[string]any{"accessor": e.Accessor},
		},
		IssueTime: e.CreationTime, ExpireTime: e.ExpireTime, Renewable: e.Renewable,
	}
	return quotaError(t.c.leases.Register(ctx, l))
}

// TokenRenewed implements token.Leaser. A token minted before tokens had
// leases gets one now.
func (t tokenLeaser) TokenRenewed(ctx context.Context, e *token.Entry) error {
	err := t.c.leases.Extend(ctx, e.LeaseID(), e.ExpireTime)
	if errors.Is(err, logical.ErrNotFound) {
		return t.TokenCreated(ctx, e)
	}
	return err
}

// TokenRevoked implements token.Leaser: the leases the token created
// expire now (the manager revokes them, with retries), and its own lease
// is dropped.
func (t tokenLeaser) TokenRevoked(ctx context.Context, e *token.Entry) error {
	err := t.c.leases.RevokeByToken(ctx, e.Accessor)
	return errors.Join(err, t.c.leases.Forget(ctx, e.LeaseID()))
}

// tokenLeaseMount is the auth mount a token lease id falls under (the
// token store's for a token minted by auth/token/*).
func (c *Core) tokenLeaseMount(id string) string {
	if st := c.active.Load(); st != nil {
		if rt := st.router.match(id); rt != nil && strings.HasPrefix(rt.prefix, authPrefix) {
			return rt.prefix
		}
	}
	if rest, ok := strings.CutPrefix(id, authPrefix); ok {
		if i := strings.Index(rest, "/"); i > 0 {
			return authPrefix + rest[:i+1]
		}
	}
	return authPrefix + tokenMount.Path
}

// revokeTokenLease revokes the token behind an expired or revoked token
// lease, with its children and their leases, audited as the manager's.
func (r leaseRevoker) revokeTokenLease(ctx context.Context, l *expiration.Lease) error {
	st := r.c.active.Load()
	if st == nil {
		return fmt.Errorf("%w: not active", logical.ErrUnavailable)
	}
	accessor, _ := l.Secret.InternalData["accessor"].(string)
	if accessor == "" {
		return fmt.Errorf("core: token lease %s names no token", l.ID)
	}
	id, err := logical.NewUUID()
	if err != nil {
		return err
	}
	e := &audit.Entry{Time: r.c.cfg.Now(), RequestID: id, Operation: string(logical.RevokeOperation), Path: l.Path,
		MountType: "token", LeaseID: l.ID, Decision: audit.Decision{Allowed: true, PolicyIDs: []string{"expiration-manager"}}}
	_, err = r.c.auditedAction(ctx, e, func() (*logical.Response, error) {
		_, err := st.tokens.RevokeAccessor(ctx, accessor)
		return nil, err
	})
	return err
}

// errTokenLeaseRenew refuses sys/leases/renew of a token's lease, as
// Vault does.
var errTokenLeaseRenew = logical.InvalidRequest("lease_id", "tokens cannot be renewed through this endpoint; use auth/token/renew")
