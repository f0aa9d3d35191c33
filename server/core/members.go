package core

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/membership"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// The raft membership of a clustered node is server/membership's
// (Core.members). The core owns when it acts: the cluster network starts
// after init, unseal or join; autopilot runs as an active service; the
// sys/storage/raft handlers (sys_raft.go, sys_autopilot.go) call into it
// once the pipeline has admitted the request.

// membership returns the raft membership when this node is the unsealed
// active node of a cluster.
func (c *Core) membership() (*membership.Membership, error) {
	if c.members == nil {
		return nil, logical.InvalidRequest("", "this node does not use raft storage")
	}
	if _, err := c.state(); err != nil {
		return nil, err
	}
	return c.members, nil
}

// memberView adapts the core to the small interfaces membership needs of
// its owner (membership.SealSource and membership.Role).
type memberView struct{ c *Core }

var (
	_ membership.SealSource = memberView{}
	_ membership.Role       = memberView{}
)

// Standby implements membership.Role.
func (v memberView) Standby() (bool, string) { return v.c.Standby() }

// SealConfig implements membership.SealSource with the node's own seal
// configuration (not a pending join's).
func (v memberView) SealConfig(ctx context.Context) (*seal.Config, error) {
	return v.c.shamir.Config(ctx)
}

// StoredKeyring implements membership.SealSource.
func (v memberView) StoredKeyring(ctx context.Context) ([]byte, error) {
	return v.physicalValue(ctx, barrier.KeyringPath)
}

// WrappedRootKey implements membership.SealSource.
func (v memberView) WrappedRootKey(ctx context.Context) ([]byte, error) {
	return v.physicalValue(ctx, seal.WrappedRootKeyPath)
}

// StaticSealBlob implements membership.SealSource.
func (v memberView) StaticSealBlob(ctx context.Context) ([]byte, error) {
	return v.physicalValue(ctx, staticSealKey)
}

func (v memberView) physicalValue(ctx context.Context, key string) ([]byte, error) {
	e, err := v.c.physical.Get(ctx, key)
	if err != nil || e == nil {
		return nil, err
	}
	return e.Value, nil
}
