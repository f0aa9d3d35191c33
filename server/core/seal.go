package core

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// Initialized reports whether sys/init has run.
func (c *Core) Initialized(ctx context.Context) (bool, error) {
	cfg, err := c.sealConfig(ctx)
	if err != nil {
		return false, fmt.Errorf("core: read seal config: %w", err)
	}
	return cfg != nil, nil
}

// Initialize runs sys/init: it creates the root key, splits it into
// shares, initialises the barrier, the token store (root token) and the
// mount table, and leaves the node sealed, as Vault does.
func (c *Core) Initialize(ctx context.Context, p *InitParams) (*InitResult, error) {
	if err := validateInit(p); err != nil {
		return nil, err
	}
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if ok, err := c.Initialized(ctx); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrAlreadyInitialized
	}
	var ca *cluster.CA
	if c.members != nil {
		// Init writes through raft: bootstrap a one-node cluster first.
		var err error
		if ca, err = c.members.StartForInit(ctx); err != nil {
			return nil, err
		}
	}
	rootKey, shares, err := c.shamir.Init(ctx, seal.Config{
		Type: "shamir", SecretShares: p.SecretShares, SecretThreshold: p.SecretThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("core: init seal: %w", err)
	}
	if err := c.barrier.Initialize(ctx, rootKey); err != nil {
		return nil, fmt.Errorf("core: init barrier: %w", err)
	}
	if err := c.storeStaticSeal(ctx, rootKey); err != nil {
		return nil, err
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return nil, fmt.Errorf("core: unseal new barrier: %w", err)
	}
	clear(rootKey)
	rootToken, err := c.initialStateWithCA(ctx, ca)
	c.barrier.Seal()
	if err != nil {
		return nil, err
	}
	res := &InitResult{RootToken: rootToken}
	for _, s := range shares {
		res.Keys = append(res.Keys, hex.EncodeToString(s))
		res.KeysB64 = append(res.KeysB64, base64.StdEncoding.EncodeToString(s))
		clear(s)
	}
	c.unsealer = c.newUnsealer()
	c.logger.Info("core: initialized", "shares", p.SecretShares, "threshold", p.SecretThreshold)
	if c.cfg.StaticSealKey != nil {
		// As with Vault's auto-unseal, a static seal leaves the node unsealed.
		if err := c.autoUnsealLocked(ctx); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (c *Core) initialStateWithCA(ctx context.Context, ca *cluster.CA) (string, error) {
	if ca != nil {
		if err := c.members.SaveCA(ctx, ca); err != nil {
			return "", err
		}
	}
	return c.initialState(ctx)
}

func validateInit(p *InitParams) error {
	switch {
	case len(p.PGPKeys) > 0 || p.RootTokenPGPKey != "":
		return logical.InvalidRequest("pgp_keys", "PGP-encrypted key shares are not supported yet")
	case p.StoredShares != 0 || p.RecoveryShares != 0:
		return logical.InvalidRequest("stored_shares", "stored and recovery shares need an auto-unseal seal, which this server does not have")
	}
	cfg := seal.Config{Type: "shamir", SecretShares: p.SecretShares, SecretThreshold: p.SecretThreshold}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
	}
	return nil
}

// initialState writes what a fresh cluster needs behind the barrier and
// returns the root token.
func (c *Core) initialState(ctx context.Context) (string, error) {
	if _, err := newClusterInfo(ctx, c.barrier); err != nil {
		return "", err
	}
	for _, key := range []string{mountTableKey, authTableKey} {
		if err := saveMountTable(ctx, c.barrier, key, &mountTable{}); err != nil {
			return "", err
		}
	}
	ts := c.newTokenStore()
	if err := ts.Setup(ctx); err != nil {
		return "", fmt.Errorf("core: token store setup: %w", err)
	}
	raw, _, err := ts.CreateRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("core: create root token: %w", err)
	}
	return raw, nil
}

// Unseal adds one key share; when the threshold is reached it unseals.
// The key is raw share bytes (the API layer decodes hex or base64).
func (c *Core) Unseal(ctx context.Context, key []byte) (*SealStatus, error) {
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if !c.sealed.Load() {
		return c.sealStatusLocked(ctx)
	}
	if ok, err := c.Initialized(ctx); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrNotInitialized
	}
	rootKey, err := c.unsealer.Add(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", logical.ErrInvalidRequest, err)
	}
	if rootKey != nil {
		unseal := c.unsealWithKey
		if c.join != nil {
			unseal = c.completeJoin
		}
		err := unseal(ctx, rootKey)
		clear(rootKey)
		if err != nil {
			return nil, err
		}
	}
	return c.sealStatusLocked(ctx)
}

func (c *Core) unsealWithKey(ctx context.Context, rootKey []byte) error {
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		if errors.Is(err, barrier.ErrBadRootKey) {
			return fmt.Errorf("%w: unable to unseal: the combined key shares are not valid for this server", logical.ErrInvalidRequest)
		}
		return fmt.Errorf("core: unseal barrier: %w", err)
	}
	if err := c.postUnseal(ctx); err != nil {
		c.barrier.Seal()
		return err
	}
	c.logger.Info("core: unsealed")
	return nil
}

// UnsealReset discards the unseal progress.
func (c *Core) UnsealReset(ctx context.Context) (*SealStatus, error) {
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if c.unsealer != nil {
		c.unsealer.Reset()
	}
	return c.sealStatusLocked(ctx)
}

// Seal seals the node with the caller's token, through the pipeline
// (sys/seal: the token must be allowed sudo).
func (c *Core) Seal(ctx context.Context, rawToken string) error {
	_, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "sys/seal", ClientToken: rawToken})
	return err
}

func (c *Core) sealLocked() {
	if c.sealed.Swap(true) {
		return
	}
	c.clearActive()
	c.barrier.Seal()
	c.unsealer = c.newUnsealer()
	c.logger.Info("core: sealed")
	if cl := c.cfg.Cluster; cl != nil && cl.Started() && cl.IsLeader() {
		// A sealed node cannot serve: let an unsealed standby take over.
		go func() {
			if err := cl.TransferLeadership(); err != nil {
				c.logger.Warn("core: sealed leader could not transfer leadership", "error", err)
			}
		}()
	}
}

// SealStatus answers sys/seal-status.
func (c *Core) SealStatus(ctx context.Context) (*SealStatus, error) {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return c.sealStatusLocked(ctx)
}

func (c *Core) sealStatusLocked(ctx context.Context) (*SealStatus, error) {
	cfg, err := c.sealConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("core: read seal config: %w", err)
	}
	s := &SealStatus{
		Type:        "shamir",
		Sealed:      c.sealed.Load(),
		Version:     Version,
		StorageType: c.cfg.StorageType,
	}
	if cfg != nil {
		s.Initialized, s.T, s.N = true, cfg.SecretThreshold, cfg.SecretShares
	}
	if c.unsealer != nil && s.Sealed {
		s.Progress, s.Nonce = c.unsealer.Progress(), c.unsealer.Nonce()
	}
	// The identity cached at unseal: a standby reports it as the active
	// node does.
	if ci := c.clusterInfo.Load(); ci != nil && !s.Sealed {
		s.ClusterName, s.ClusterID = ci.Name, ci.ID
	}
	return s, nil
}

// sealConfig is the seal configuration: the pending join's while a join
// waits for its keys, else the one in local storage.
func (c *Core) sealConfig(ctx context.Context) (*seal.Config, error) {
	if c.join != nil {
		return c.join.SealConfig(ctx)
	}
	return c.shamir.Config(ctx)
}
