package core

import (
	"context"
	"log/slog"

	"github.com/secretumvault/secretumvault/server/core/identity"
	"github.com/secretumvault/secretumvault/storage"
)

// identityMount is the identity store's row of the secrets mount table:
// always mounted at identity/, never disabled (Vault's).
var identityMount = &mountEntry{Path: "identity/", Type: "identity", Description: "identity store", Accessor: "identity_00000000", UUID: "00000000-0000-0000-0000-000000000002"}

// newIdentityStore builds the active node's identity store; auth mount
// accessors resolve through the current auth table.
func (c *Core) newIdentityStore(ctx context.Context) (*identity.Store, error) {
	s := identity.New(storage.NewView(c.barrier, identityPrefix), identity.Options{
		Now:    c.cfg.Now,
		Logger: c.logger.With(slog.String("subsystem", "identity")),
		Mounts: c.authMountInfo,
	})
	if err := s.Setup(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// authMountInfo resolves an auth mount accessor for the identity store.
func (c *Core) authMountInfo(accessor string) (identity.MountInfo, bool) {
	st := c.active.Load()
	if st == nil {
		return identity.MountInfo{}, false
	}
	for _, e := range append([]*mountEntry{tokenMount}, st.auths.Entries...) {
		if e.Accessor == accessor {
			return identity.MountInfo{Path: authPrefix + e.Path, Type: e.Type}, true
		}
	}
	return identity.MountInfo{}, false
}

// identityView adapts the identity store to the pipeline's needs.
type identityView struct{ s *identity.Store }

var (
	_ identitySource = identityView{}
	_ identityLogin  = identityView{}
)

// Principal implements identitySource.
func (v identityView) Principal(entityID string) (identityPrincipal, bool) {
	p, ok := v.s.Principal(entityID)
	if !ok {
		return identityPrincipal{}, false
	}
	return identityPrincipal{
		Name: p.Name, Type: p.Type, Disabled: p.Disabled, Metadata: p.Metadata,
		Policies: p.Policies, Groups: p.Groups, GroupMetadata: p.GroupMetadata,
	}, true
}

// EntityID implements identitySource.
func (v identityView) EntityID(name string) (string, bool) { return v.s.EntityID(name) }

// Login implements identityLogin.
func (v identityView) Login(ctx context.Context, l loginAlias) (string, error) {
	return v.s.Login(ctx, identity.LoginAlias{
		MountAccessor: l.MountAccessor, MountType: l.MountType, MountPath: l.MountPath,
		Name: l.Name, EntityName: l.EntityName, Metadata: l.Metadata,
		EntityType: l.EntityType, GroupNames: l.GroupNames,
	})
}
