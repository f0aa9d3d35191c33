package membership

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// replicationWait bounds how long a joined node waits for the cluster's
// keyring and seal configuration to replicate to it.
const replicationWait = time.Minute

// JoinParams are the inputs of sys/storage/raft/join and of a retry_join
// block.
type JoinParams struct {
	LeaderAPIAddr string
	// LeaderCACert is a PEM CA to verify the leader's API TLS certificate.
	LeaderCACert string
	// LeaderClientCert and LeaderClientKey (PEM) authenticate this node to
	// a leader whose API listener requires client certificates.
	LeaderClientCert, LeaderClientKey string
	// NonVoter joins as a non-voting member.
	NonVoter bool
	// Retry keeps trying in the background (RetryJoin) until the join
	// challenge is obtained; the join call then returns at once.
	Retry bool
}

// Validate reports a missing leader address.
func (p *JoinParams) Validate() error {
	if p.LeaderAPIAddr == "" {
		return logical.InvalidRequest("leader_api_addr", "is required")
	}
	return nil
}

// PendingJoin is a node that obtained a join challenge and waits for the
// operator's unseal keys to answer it. Its seal configuration and unsealer
// stand in for the node's own until the join completes. It is used under
// the core's state lock only.
type PendingJoin struct {
	leader     *leaderClient
	params     JoinParams
	shamir     *seal.Shamir
	barrier    *barrier.AESGCMBarrier
	challenge  []byte
	staticSeal []byte
}

// challengeResponse is the leader's answer to bootstrap/challenge.
type challengeResponse struct {
	Challenge  string      `json:"challenge"`
	Keyring    string      `json:"keyring"`
	SealConfig seal.Config `json:"seal_config"`
	StaticSeal string      `json:"static_seal"`
	// WrappedRootKey is the root key wrapped with the unseal key, absent
	// for a seal whose shares are the root key itself.
	WrappedRootKey string `json:"wrapped_root_key"`
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

// RequestJoin asks the leader at p.LeaderAPIAddr for a join challenge. The
// caller makes sure the node has no state yet and holds the returned
// PendingJoin until the unseal keys arrive (CompleteJoin).
func (m *Membership) RequestJoin(ctx context.Context, p *JoinParams) (*PendingJoin, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	lc, err := newLeaderClient(p)
	if err != nil {
		return nil, err
	}
	var ch challengeResponse
	err = lc.call(ctx, "sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": m.cluster.NodeID()}, &ch)
	var pj *PendingJoin
	if err == nil {
		pj, err = newPendingJoin(ctx, lc, p, &ch)
	}
	if err != nil {
		// The caller of the (unauthenticated) join endpoint learns only
		// that it failed: what the leader, or whatever answered at that
		// address, said goes to this node's log.
		m.logJoinFailure("membership: join challenge failed", p.LeaderAPIAddr, err)
		return nil, ErrJoinFailed
	}
	m.logger.Info("membership: join challenge received; unseal this node with the cluster's keys to join", "leader", p.LeaderAPIAddr)
	return pj, nil
}

func newPendingJoin(ctx context.Context, lc *leaderClient, p *JoinParams, ch *challengeResponse) (*PendingJoin, error) {
	challenge, err1 := base64.StdEncoding.DecodeString(ch.Challenge)
	keyring, err2 := base64.StdEncoding.DecodeString(ch.Keyring)
	sealCfg, err3 := json.Marshal(ch.SealConfig)
	var static []byte
	var err4 error
	if ch.StaticSeal != "" {
		static, err4 = base64.StdEncoding.DecodeString(ch.StaticSeal)
	}
	wrappedRoot, err5 := base64.StdEncoding.DecodeString(ch.WrappedRootKey)
	if err := errors.Join(err1, err2, err3, err4, err5, ch.SealConfig.Validate()); err != nil {
		return nil, fmt.Errorf("membership: malformed join challenge: %w", err)
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
	return &PendingJoin{leader: lc, params: *p, shamir: seal.New(phys), barrier: barrier.New(phys), challenge: challenge, staticSeal: static}, nil
}

// SealConfig returns the cluster's seal configuration, as the leader
// handed it over.
func (pj *PendingJoin) SealConfig(ctx context.Context) (*seal.Config, error) {
	return pj.shamir.Config(ctx)
}

// NewUnsealer returns an unsealer collecting the cluster's key shares.
func (pj *PendingJoin) NewUnsealer() *seal.Unsealer { return pj.shamir.NewUnsealer() }

// StaticSeal returns the cluster's root key wrapped with its static seal
// key, nil when the cluster has no static seal.
func (pj *PendingJoin) StaticSeal() []byte { return pj.staticSeal }

// CompleteJoin answers the challenge with the combined root key, starts
// the cluster network with the identity the leader issued and waits until
// the cluster's keyring and seal configuration have replicated here. The
// caller then unseals its own barrier with rootKey.
func (m *Membership) CompleteJoin(ctx context.Context, pj *PendingJoin, rootKey []byte) error {
	if err := pj.barrier.Unseal(ctx, rootKey); err != nil {
		if errors.Is(err, barrier.ErrBadRootKey) {
			return ErrWrongKeys
		}
		return fmt.Errorf("membership: open join keyring: %w", err)
	}
	answer, err := pj.barrier.Decrypt(challengeAAD+m.cluster.NodeID(), pj.challenge)
	if err != nil {
		return fmt.Errorf("membership: decrypt join challenge: %w", err)
	}
	key, err := cluster.NewNodeKey()
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("membership: encode node key: %w", err)
	}
	var ar answerResponse
	err = pj.leader.call(ctx, "sys/storage/raft/bootstrap/answer", answerRequest{
		ServerID: m.cluster.NodeID(), Answer: base64.StdEncoding.EncodeToString(answer),
		ClusterAddr: m.cluster.ClusterAddr(), PublicKey: base64.StdEncoding.EncodeToString(pub), NonVoter: pj.params.NonVoter,
	}, &ar)
	if err != nil {
		m.logJoinFailure("membership: join answer rejected", pj.params.LeaderAPIAddr, err)
		return ErrJoinAnswerRejected
	}
	if err := m.startJoined(ctx, key, &ar); err != nil {
		return err
	}
	m.logger.Info("membership: joined raft cluster", "leader", pj.params.LeaderAPIAddr)
	return nil
}

// logJoinFailure logs why a join attempt failed: at warning level, or at
// debug level when it is the same failure as the previous attempt's (a
// retry loop asks every few seconds for an hour).
func (m *Membership) logJoinFailure(msg, leader string, err error) {
	detail := leader + ": " + err.Error()
	level := slog.LevelWarn
	if prev := m.lastJoinFailure.Swap(&detail); prev != nil && *prev == detail {
		level = slog.LevelDebug
	}
	m.logger.Log(context.Background(), level, msg, "leader", leader, "error", err)
}

// startJoined starts the network with the issued identity and waits for
// the replicated state.
func (m *Membership) startJoined(ctx context.Context, key *ecdsa.PrivateKey, ar *answerResponse) error {
	der, err := base64.StdEncoding.DecodeString(ar.NodeCert)
	if err != nil {
		return fmt.Errorf("membership: decode node certificate: %w", err)
	}
	id, err := cluster.NewIdentity(key, der, []byte(ar.CACert))
	if err != nil {
		return fmt.Errorf("membership: node identity: %w", err)
	}
	if err := m.cluster.Start(ctx, id, false); err != nil {
		return fmt.Errorf("membership: start cluster: %w", err)
	}
	m.startBackground()
	wctx, cancel := context.WithTimeout(ctx, replicationWait)
	defer cancel()
	for {
		kr, err1 := m.seal.StoredKeyring(wctx)
		cfg, err2 := m.seal.SealConfig(wctx)
		if err1 == nil && err2 == nil && kr != nil && cfg != nil {
			return nil
		}
		select {
		case <-wctx.Done():
			return ErrNotReplicated
		case <-time.After(100 * time.Millisecond):
		}
	}
}
