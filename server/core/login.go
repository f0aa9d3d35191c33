package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// isLogin reports a login answer: an auth method (not the token store)
// vouching for an identity, with no token minted yet.
func isLogin(tgt *target, resp *logical.Response) bool {
	return resp != nil && resp.Auth != nil && resp.Auth.ClientToken == "" &&
		tgt.entry != nil && tgt.typ != token.MountType && strings.HasPrefix(tgt.mount, authPrefix)
}

// loginAlias is what the identity store needs to resolve a login.
type loginAlias struct {
	MountAccessor, MountType, MountPath string
	Name, EntityName                    string
	Metadata                            map[string]string
	EntityType                          string
	GroupNames                          []string
}

// identityLogin resolves a login's alias to its entity (creating it on
// the first login).
type identityLogin interface {
	Login(ctx context.Context, l loginAlias) (entityID string, err error)
}

// completeLogin turns an auth method's login answer into a token: the
// alias resolves to an identity entity, a token bound to it is minted
// with the method's policies and limits (capped by the mount's TTLs),
// and the auth block is filled for the client.
func (c *Core) completeLogin(ctx context.Context, call *pipelineCall, tgt *target, req *logical.Request, resp *logical.Response) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	a := resp.Auth
	if a.Alias == nil || a.Alias.Name == "" {
		return fmt.Errorf("core: login at %s: the auth method named no alias", tgt.mount)
	}
	entityID := ""
	if il, ok := st.identity.(identityLogin); ok {
		entityID, err = il.Login(ctx, loginAlias{
			MountAccessor: tgt.entry.Accessor, MountType: tgt.typ, MountPath: tgt.mount,
			Name: a.Alias.Name, EntityName: a.Alias.EntityName, Metadata: a.Alias.Metadata,
			EntityType: a.EntityType, GroupNames: a.GroupNames,
		})
		if err != nil {
			return err
		}
	}
	p := loginTokenParams(tgt, call.full, a, entityID)
	raw, te, err := st.tokens.Create(ctx, p)
	if err != nil {
		return fmt.Errorf("core: login at %s: mint token: %w", tgt.mount, err)
	}
	fillLoginAuth(a, raw, te, principalOf(st, te).Policies)
	c.logger.Debug("core: login", "request_id", req.ID, "mount", tgt.mount, "accessor", te.Accessor, "entity_id", entityID)
	return nil
}

// loginTokenParams is the token a login is owed: the method's policies
// (plus default unless refused), TTLs capped by the mount's, an orphan
// bound to the entity.
func loginTokenParams(tgt *target, path string, a *logical.Auth, entityID string) token.CreateParams {
	policies := slices.Clone(a.Policies)
	if !a.NoDefaultPolicy && !slices.Contains(policies, defaultPolicyName) {
		policies = append(policies, defaultPolicyName)
	}
	def, max := effectiveTTLs(tgt.entry.Config)
	ttl := a.TTL
	if ttl <= 0 {
		ttl = def
	}
	explicitMax := max
	if a.MaxTTL > 0 && a.MaxTTL < explicitMax {
		explicitMax = a.MaxTTL
	}
	ttl = min(ttl, explicitMax)
	name := a.DisplayName
	if name == "" {
		name = strings.Trim(strings.TrimPrefix(tgt.mount, authPrefix), "/") + "-" + a.Alias.Name
	}
	return token.CreateParams{
		Policies: policies, DisplayName: name, Meta: a.Metadata, EntityID: entityID, Path: path,
		TTL: ttl, ExplicitMaxTTL: explicitMax, Period: min(a.Period, explicitMax),
		Renewable: true, NumUses: a.NumUses, BoundCIDRs: a.BoundCIDRs,
	}
}

// fillLoginAuth fills the client's auth block from the minted token.
func fillLoginAuth(a *logical.Auth, raw string, te *token.Entry, effective []string) {
	a.ClientToken, a.Accessor, a.EntityID = raw, te.Accessor, te.EntityID
	a.TokenPolicies = te.Policies
	a.Policies = effective
	a.Renewable, a.Orphan, a.NumUses = te.Renewable, true, te.NumUses
	a.TokenType = token.TypeService
	a.LeaseDuration = 0
	if !te.ExpireTime.IsZero() {
		a.LeaseDuration = int(te.ExpireTime.Sub(te.CreationTime) / time.Second)
	}
	if a.Metadata == nil {
		a.Metadata = map[string]string{}
	}
}
