package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// JoinParams are the inputs of sys/storage/raft/join.
type JoinParams struct {
	LeaderAPIAddr string
	// LeaderCACert is a PEM CA to verify the leader's API TLS certificate.
	LeaderCACert string
	// LeaderClientCert and LeaderClientKey (PEM) authenticate this node to
	// a leader whose API listener requires client certificates.
	LeaderClientCert, LeaderClientKey string
	// NonVoter joins as a non-voting member.
	NonVoter bool
	// Retry keeps trying in the background (every 2 s, for up to an hour)
	// until the join challenge is obtained; Join then returns at once.
	Retry bool
}

// pendingJoin is a node that obtained a join challenge and waits for the
// operator's unseal keys to answer it.
type pendingJoin struct {
	leader    *leaderClient
	params    JoinParams
	phys      *inmem.Backend
	shamir    *seal.Shamir
	barrier   *barrier.AESGCMBarrier
	challenge []byte
}

// challengeResponse is the leader's answer to bootstrap/challenge.
type challengeResponse struct {
	Challenge  string      `json:"challenge"`
	Keyring    string      `json:"keyring"`
	SealConfig seal.Config `json:"seal_config"`
	// WrappedRootKey is the root key wrapped with the unseal key, absent
	// for a seal whose shares are the root key itself.
	WrappedRootKey string `json:"wrapped_root_key"`
	StaticSeal     string `json:"static_seal"`
}

// answerRequest is what a joining node sends to bootstrap/answer.
type answerRequest struct {
	ServerID    string `json:"server_id"`
	Answer      string `json:"answer"`
	ClusterAddr string `json:"cluster_addr"`
	PublicKey   string `json:"public_key"`
	NonVoter    bool   `json:"non_voter"`
}

// answerResponse carries the new member's cluster identity.
type answerResponse struct {
	CACert   string `json:"ca_cert"`
	NodeCert string `json:"node_cert"`
	Peers    []Peer `json:"peers"`
}

// Join asks the leader at p.LeaderAPIAddr for a join challenge. The node
// then reports itself initialized and sealed; unsealing it with the
// cluster's key shares answers the challenge and joins it to the cluster.
func (c *Core) Join(ctx context.Context, p *JoinParams) error {
	if c.cfg.Cluster == nil {
		return logical.InvalidRequest("", "raft join needs raft storage")
	}
	if p.LeaderAPIAddr == "" {
		return logical.InvalidRequest("leader_api_addr", "is required")
	}
	if p.Retry {
		once := *p
		once.Retry = false
		go c.RetryJoin(context.Background(), []*JoinParams{&once})
		return nil
	}
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if ok, err := c.shamir.Config(ctx); err != nil {
		return err
	} else if ok != nil || c.cfg.Cluster.Started() {
		return logical.InvalidRequest("", "node is already initialized or part of a cluster")
	}
	lc, err := newLeaderClient(p)
	if err != nil {
		return err
	}
	var ch challengeResponse
	if err := lc.call(ctx, "sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": c.cfg.Cluster.NodeID()}, &ch); err != nil {
		return fmt.Errorf("%w: join %s: %v", logical.ErrInvalidRequest, p.LeaderAPIAddr, err)
	}
	pj, err := newPendingJoin(ctx, lc, p, &ch)
	if err != nil {
		return err
	}
	c.join = pj
	c.unsealer = pj.shamir.NewUnsealer()
	if c.cfg.StaticSealKey != nil && ch.StaticSeal != "" {
		return c.joinWithStaticSeal(ctx, ch.StaticSeal)
	}
	c.logger.Info("core: join challenge received; unseal this node with the cluster's keys to join", "leader", p.LeaderAPIAddr)
	return nil
}

func newPendingJoin(ctx context.Context, lc *leaderClient, p *JoinParams, ch *challengeResponse) (*pendingJoin, error) {
	challenge, err1 := base64.StdEncoding.DecodeString(ch.Challenge)
	keyring, err2 := base64.StdEncoding.DecodeString(ch.Keyring)
	sealCfg, err3 := json.Marshal(ch.SealConfig)
	wrappedRoot, err4 := base64.StdEncoding.DecodeString(ch.WrappedRootKey)
	if err := errors.Join(err1, err2, err3, err4, ch.SealConfig.Validate()); err != nil {
		return nil, fmt.Errorf("core: malformed join challenge: %w", err)
	}
	entries := map[string][]byte{barrier.KeyringPath: keyring, seal.ConfigPath: sealCfg}
	if len(wrappedRoot) > 0 {
		entries[seal.WrappedRootKeyPath] = wrappedRoot
	}
	phys := inmem.New()
	for k, v := range entries {
		if err := phys.Put(ctx, &storage.Entry{Key: k, Value: v}); err != nil {
			return nil, err
		}
	}
	return &pendingJoin{leader: lc, params: *p, phys: phys, shamir: seal.New(phys), barrier: barrier.New(phys), challenge: challenge}, nil
}

// completeJoin answers the challenge with the combined root key, starts
// the cluster network with the identity the leader issued, waits for the
// replicated state and unseals the real barrier. Callers hold stateLock.
func (c *Core) completeJoin(ctx context.Context, rootKey []byte) error {
	pj, cl := c.join, c.cfg.Cluster
	if err := pj.barrier.Unseal(ctx, rootKey); err != nil {
		if errors.Is(err, barrier.ErrBadRootKey) {
			return fmt.Errorf("%w: unable to unseal: the combined key shares are not valid for this cluster", logical.ErrInvalidRequest)
		}
		return fmt.Errorf("core: open join keyring: %w", err)
	}
	answer, err := pj.barrier.Decrypt(challengeAAD+cl.NodeID(), pj.challenge)
	if err != nil {
		return fmt.Errorf("core: decrypt join challenge: %w", err)
	}
	key, err := cluster.NewNodeKey()
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("core: encode node key: %w", err)
	}
	var ar answerResponse
	err = pj.leader.call(ctx, "sys/storage/raft/bootstrap/answer", answerRequest{
		ServerID: cl.NodeID(), Answer: base64.StdEncoding.EncodeToString(answer),
		ClusterAddr: cl.ClusterAddr(), PublicKey: base64.StdEncoding.EncodeToString(pub), NonVoter: pj.params.NonVoter,
	}, &ar)
	if err != nil {
		return fmt.Errorf("%w: join answer rejected: %v", logical.ErrInvalidRequest, err)
	}
	if err := c.startJoinedCluster(ctx, key, &ar); err != nil {
		return err
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return fmt.Errorf("core: unseal replicated barrier: %w", err)
	}
	c.join = nil
	c.unsealer = c.newUnsealer()
	c.logger.Info("core: joined raft cluster", "leader", pj.params.LeaderAPIAddr)
	return c.postUnseal(ctx)
}

func (c *Core) startJoinedCluster(ctx context.Context, key *ecdsa.PrivateKey, ar *answerResponse) error {
	der, err := base64.StdEncoding.DecodeString(ar.NodeCert)
	if err != nil {
		return fmt.Errorf("core: decode node certificate: %w", err)
	}
	id, err := cluster.NewIdentity(key, der, []byte(ar.CACert))
	if err != nil {
		return fmt.Errorf("core: node identity: %w", err)
	}
	if err := c.cfg.Cluster.Start(ctx, id, false); err != nil {
		return fmt.Errorf("core: start cluster: %w", err)
	}
	// Wait until raft has replicated the keyring and seal config here.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		kr, err1 := c.physical.Get(wctx, barrier.KeyringPath)
		cfg, err2 := c.shamir.Config(wctx)
		if err1 == nil && err2 == nil && kr != nil && cfg != nil {
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("%w: joined, but the cluster state did not replicate here in time", logical.ErrUnavailable)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// joinWithStaticSeal completes a join at once with the root key that the
// static seal key opens. Callers hold stateLock.
func (c *Core) joinWithStaticSeal(ctx context.Context, blob64 string) error {
	blob, err := base64.StdEncoding.DecodeString(blob64)
	if err != nil {
		return fmt.Errorf("core: malformed static seal in join challenge: %w", err)
	}
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

// RetryJoin asks each leader in turn (every 2 s, for at most an hour or
// until ctx ends) until a join challenge is obtained or the node gains
// state some other way. vaultd runs it for retry_join blocks; the join
// API's retry=true runs it for one leader.
func (c *Core) RetryJoin(ctx context.Context, leaders []*JoinParams) {
	if len(leaders) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for i := 0; ; i++ {
		if ok, err := c.Initialized(ctx); err == nil && ok {
			return
		}
		p := leaders[i%len(leaders)]
		err := c.Join(ctx, p)
		if err == nil {
			return
		}
		c.logger.Debug("core: join attempt failed; retrying", "leader", p.LeaderAPIAddr, "error", err)
		select {
		case <-ctx.Done():
			c.logger.Warn("core: gave up joining", "leaders", len(leaders))
			return
		case <-time.After(2 * time.Second):
		}
	}
}
