package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// challengeTTL bounds how long a join challenge may be answered.
const challengeTTL = 10 * time.Minute

// challenges holds the outstanding join challenges of the active node.
type challenges struct {
	mu      sync.Mutex
	pending map[string]pendingChallenge
}

type pendingChallenge struct {
	answer  []byte
	expires time.Time
}

// RaftChallenge answers sys/storage/raft/bootstrap/challenge on the active
// node: a random challenge encrypted with the barrier, the keyring as
// stored (encrypted with the root key) and the seal configuration. Only a
// node given the key shares can open them.
func (c *Core) RaftChallenge(ctx context.Context, serverID string) (map[string]any, error) {
	if serverID == "" {
		return nil, logical.InvalidRequest("server_id", "is required")
	}
	cl, err := c.activeCluster()
	if err != nil {
		return nil, err
	}
	peers, err := cl.Peers(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		if p.ID == serverID {
			return nil, logical.InvalidRequest("server_id", "node id %q is already a member of this cluster: remove it first or give the joining node another node_id", serverID)
		}
	}
	answer := make([]byte, 32)
	if _, err := rand.Read(answer); err != nil {
		return nil, err
	}
	ct, err := c.barrier.Encrypt(challengeAAD+serverID, answer)
	if err != nil {
		return nil, fmt.Errorf("core: encrypt challenge: %w", err)
	}
	kr, err := c.physical.Get(ctx, barrier.KeyringPath)
	if err != nil || kr == nil {
		return nil, fmt.Errorf("core: read keyring: %v", err)
	}
	cfg, err := c.shamir.Config(ctx)
	if err != nil || cfg == nil {
		return nil, fmt.Errorf("core: read seal config: %v", err)
	}
	c.challenges.mu.Lock()
	if c.challenges.pending == nil {
		c.challenges.pending = map[string]pendingChallenge{}
	}
	c.challenges.pending[serverID] = pendingChallenge{answer: answer, expires: c.cfg.Now().Add(challengeTTL)}
	c.challenges.mu.Unlock()
	out := map[string]any{
		"challenge":   base64.StdEncoding.EncodeToString(ct),
		"keyring":     base64.StdEncoding.EncodeToString(kr.Value),
		"seal_config": cfg,
	}
	// The root key wrapped with the unseal key: the joining node's shares
	// open it (absent for a seal from before unseal keys were separate).
	if wr, err := c.physical.Get(ctx, seal.WrappedRootKeyPath); err != nil {
		return nil, fmt.Errorf("core: read wrapped root key: %w", err)
	} else if wr != nil {
		out["wrapped_root_key"] = base64.StdEncoding.EncodeToString(wr.Value)
	}
	// The root key wrapped with the static seal key: useless without that
	// key, and it lets a node configured with it join unattended.
	if ss, err := c.physical.Get(ctx, staticSealKey); err == nil && ss != nil {
		out["static_seal"] = base64.StdEncoding.EncodeToString(ss.Value)
	}
	return out, nil
}

// RaftAnswerParams is the body of sys/storage/raft/bootstrap/answer.
type RaftAnswerParams struct {
	ServerID    string
	Answer      []byte
	ClusterAddr string
	PublicKey   []byte // PKIX DER
	NonVoter    bool
}

// RaftAnswer checks a join answer in constant time, adds the node to the
// raft configuration and issues its cluster certificate.
func (c *Core) RaftAnswer(ctx context.Context, p *RaftAnswerParams) (map[string]any, error) {
	cl, err := c.activeCluster()
	if err != nil {
		return nil, err
	}
	if p.ServerID == "" || p.ClusterAddr == "" {
		return nil, logical.InvalidRequest("server_id", "server_id and cluster_addr are required")
	}
	c.challenges.mu.Lock()
	pc, ok := c.challenges.pending[p.ServerID]
	if ok {
		delete(c.challenges.pending, p.ServerID)
	}
	c.challenges.mu.Unlock()
	if !ok || c.cfg.Now().After(pc.expires) || subtle.ConstantTimeCompare(pc.answer, p.Answer) != 1 {
		return nil, fmt.Errorf("%w: invalid or expired join answer", logical.ErrPermissionDenied)
	}
	pub, err := x509.ParsePKIXPublicKey(p.PublicKey)
	if err != nil {
		return nil, logical.InvalidRequest("public_key", "not a PKIX public key: %v", err)
	}
	ca, err := c.loadCA(ctx)
	if err != nil {
		return nil, err
	}
	der, err := ca.Issue(p.ServerID, pub, nodeCertTTL)
	if err != nil {
		return nil, fmt.Errorf("core: issue node certificate: %w", err)
	}
	if err := c.addJoinedPeer(ctx, cl, p.ServerID, p.ClusterAddr, p.NonVoter); err != nil {
		return nil, fmt.Errorf("core: add raft peer %s: %w", p.ServerID, err)
	}
	peers, err := cl.Peers(ctx)
	if err != nil {
		return nil, err
	}
	c.logger.Info("core: raft peer joined as non-voter", "node_id", p.ServerID, "address", p.ClusterAddr, "promote", !p.NonVoter)
	return map[string]any{
		"ca_cert":   string(ca.CertPEM()),
		"node_cert": base64.StdEncoding.EncodeToString(der),
		"peers":     peers,
	}, nil
}

// activeCluster returns the cluster when this node is the unsealed
// active node of a cluster.
func (c *Core) activeCluster() (Cluster, error) {
	if c.cfg.Cluster == nil {
		return nil, logical.InvalidRequest("", "this node does not use raft storage")
	}
	if _, err := c.state(); err != nil {
		return nil, err
	}
	return c.cfg.Cluster, nil
}
