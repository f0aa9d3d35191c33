package core

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/membership"
)

// Joining is sequenced here and done by server/membership: the core
// decides that a node without state may ask for a join challenge, holds
// the pending join (whose seal configuration and unsealer stand in for the
// node's own until then), and on the last unseal key completes the join
// and unseals.

// Join asks the leader at p.LeaderAPIAddr for a join challenge
// (sys/storage/raft/join). The node then reports itself initialized and
// sealed; unsealing it with the cluster's key shares answers the challenge
// and joins it to the cluster. With p.Retry it starts the join retry loop
// and returns at once.
func (c *Core) Join(ctx context.Context, p *membership.JoinParams) error {
	if c.members == nil {
		return logical.InvalidRequest("", "raft join needs raft storage")
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Retry {
		once := *p
		once.Retry = false
		go c.RetryJoin(context.Background(), []*membership.JoinParams{&once})
		return nil
	}
	return c.joinOnce(ctx, p)
}

// joinOnce asks for a challenge and installs the pending join; with a
// static seal key that opens the cluster's root key, it completes the join
// at once. The request to the leader runs without the state lock: a
// leader that is slow or unreachable — or this very node, named in its own
// retry_join — must not block seal-status, health, init and unseal for a
// client timeout. The node's state is checked again before the join is
// installed.
func (c *Core) joinOnce(ctx context.Context, p *membership.JoinParams) error {
	c.stateLock.Lock()
	err := c.joinable(ctx)
	c.stateLock.Unlock()
	if err != nil {
		return err
	}
	pj, err := c.members.RequestJoin(ctx, p)
	if err != nil {
		return err
	}
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if err := c.joinable(ctx); err != nil {
		return err // initialized or joined meanwhile
	}
	c.join, c.unsealer = pj, pj.NewUnsealer()
	if c.cfg.StaticSealKey != nil && pj.StaticSeal() != nil {
		return c.joinWithStaticSeal(ctx, pj.StaticSeal())
	}
	return nil
}

// joinable reports whether the node may still join (uninitialized, not
// part of a cluster). Callers hold stateLock.
func (c *Core) joinable(ctx context.Context) error {
	if cfg, err := c.shamir.Config(ctx); err != nil {
		return err
	} else if cfg != nil || c.cfg.Cluster.Started() {
		return logical.InvalidRequest("", "node is already initialized or part of a cluster")
	}
	return nil
}

// RetryJoin asks each leader in turn until a join challenge is obtained
// or the node gains state some other way (membership.RetryJoin). vaultd
// runs it for retry_join blocks; the join API's retry=true runs it for one
// leader.
func (c *Core) RetryJoin(ctx context.Context, leaders []*membership.JoinParams) {
	if c.members == nil {
		return
	}
	_ = c.members.RetryJoin(ctx, leaders, func(ctx context.Context, p *membership.JoinParams) (bool, error) {
		if ok, err := c.Initialized(ctx); err == nil && ok {
			return true, nil
		}
		err := c.joinOnce(ctx, p)
		return err == nil, err
	})
}

// completeJoin answers the challenge with the combined root key (the
// network starts with the identity the leader issues), then unseals the
// replicated barrier. Callers hold stateLock.
func (c *Core) completeJoin(ctx context.Context, rootKey []byte) error {
	pj := c.join
	if err := c.members.CompleteJoin(ctx, pj, rootKey); err != nil {
		return err
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return fmt.Errorf("core: unseal replicated barrier: %w", err)
	}
	c.join, c.unsealer = nil, c.newUnsealer()
	return c.postUnseal(ctx)
}

// joinWithStaticSeal completes a join at once with the root key that the
// static seal key opens. Callers hold stateLock.
func (c *Core) joinWithStaticSeal(ctx context.Context, blob []byte) error {
	rootKey, err := unwrapRootKey(c.cfg.StaticSealKey, blob)
	if err != nil {
		c.join, c.unsealer = nil, c.newUnsealer()
		return fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
	}
	defer clear(rootKey)
	if err := c.completeJoin(ctx, rootKey); err != nil {
		// Forget the challenge so that retry_join starts over.
		c.join, c.unsealer = nil, c.newUnsealer()
		return err
	}
	return nil
}
