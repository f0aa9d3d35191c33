package membership

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// Challenge is what the active node hands a joining node
// (sys/storage/raft/bootstrap/challenge). Only a holder of the cluster's
// unseal keys can open Challenge and Keyring.
type Challenge struct {
	// Challenge is a random answer sealed with the barrier, the joiner's
	// server id bound as AAD.
	Challenge []byte
	// Keyring is the keyring as stored: ciphertext under the root key.
	Keyring []byte
	// SealConfig is the cluster's Shamir configuration.
	SealConfig *seal.Config
	// StaticSeal is the root key wrapped with the static seal key (nil
	// without one): useless without that key, it lets a node configured
	// with it join unattended.
	StaticSeal []byte
	// WrappedRootKey is the root key wrapped with the unseal key, which
	// the joiner's shares open (nil for a seal whose shares are the root
	// key itself; docs/adr/0009).
	WrappedRootKey []byte
}

// Answer is the body of sys/storage/raft/bootstrap/answer.
type Answer struct {
	ServerID    string
	Answer      []byte
	ClusterAddr string
	PublicKey   []byte // PKIX DER
	NonVoter    bool
}

// Admission is the new member's cluster identity: its certificate (DER),
// the CA (PEM) and the configuration it joined.
type Admission struct {
	CACert   []byte
	NodeCert []byte
	Peers    []Peer
}

// IssueChallenge answers a joining node on the active node: a random
// challenge sealed with the barrier for serverID, the keyring as stored
// and the seal configuration.
func (m *Membership) IssueChallenge(ctx context.Context, serverID string) (*Challenge, error) {
	if err := validateServerID(serverID); err != nil {
		return nil, err
	}
	if !m.challenges.room(serverID) {
		return nil, ErrTooManyChallenges
	}
	if err := m.notRemoved(ctx, serverID); err != nil {
		return nil, err
	}
	peers, err := m.cluster.Peers(ctx)
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
	ct, err := m.barrier.Encrypt(challengeAAD+serverID, answer)
	if err != nil {
		return nil, fmt.Errorf("membership: encrypt challenge: %w", err)
	}
	kr, err := m.seal.StoredKeyring(ctx)
	if err != nil {
		return nil, fmt.Errorf("membership: read keyring: %w", err)
	}
	cfg, err := m.seal.SealConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("membership: read seal config: %w", err)
	}
	if kr == nil || cfg == nil {
		return nil, errors.New("membership: this node has no keyring or seal configuration to hand out")
	}
	static, err := m.seal.StaticSealBlob(ctx)
	if err != nil {
		return nil, fmt.Errorf("membership: read static seal: %w", err)
	}
	wrapped, err := m.seal.WrappedRootKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("membership: read wrapped root key: %w", err)
	}
	if err := m.challenges.add(serverID, answer); err != nil {
		return nil, err
	}
	return &Challenge{Challenge: ct, Keyring: kr, SealConfig: cfg, StaticSeal: static, WrappedRootKey: wrapped}, nil
}

// Admit checks a join answer in constant time (single use, within
// Options.ChallengeTTL), adds the node to the raft configuration as a
// non-voter and issues its node certificate.
func (m *Membership) Admit(ctx context.Context, a *Answer) (*Admission, error) {
	if err := validateServerID(a.ServerID); err != nil {
		return nil, err
	}
	if a.ClusterAddr == "" {
		return nil, logical.InvalidRequest("cluster_addr", "is required")
	}
	if !m.challenges.take(a.ServerID, a.Answer) {
		return nil, ErrInvalidAnswer
	}
	if err := m.notRemoved(ctx, a.ServerID); err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(a.PublicKey)
	if err != nil {
		return nil, logical.InvalidRequest("public_key", "not a PKIX public key: %v", err)
	}
	ca, err := m.loadCA(ctx)
	if err != nil {
		return nil, err
	}
	der, err := ca.Issue(a.ServerID, pub, m.opts.NodeCertTTL)
	if err != nil {
		return nil, fmt.Errorf("membership: issue node certificate: %w", err)
	}
	if err := m.addJoinedPeer(ctx, a.ServerID, a.ClusterAddr, a.NonVoter); err != nil {
		return nil, fmt.Errorf("membership: add raft peer %s: %w", a.ServerID, err)
	}
	peers, err := m.cluster.Peers(ctx)
	if err != nil {
		return nil, err
	}
	m.logger.Info("membership: raft peer joined as non-voter", "node_id", a.ServerID, "address", a.ClusterAddr, "promote", !a.NonVoter)
	return &Admission{CACert: ca.CertPEM(), NodeCert: der, Peers: peers}, nil
}

// validateServerID accepts the node ids a certificate can carry
// (cluster.ValidateNodeID): 1-128 characters from [A-Za-z0-9._-]. The
// join endpoints are unauthenticated: nothing else reaches storage keys,
// AAD or the log.
func validateServerID(id string) error {
	if err := cluster.ValidateNodeID(id); err != nil {
		return logical.InvalidRequest("server_id", "must be 1 to %d characters from A-Z, a-z, 0-9, '.', '_' and '-'", cluster.MaxNodeIDLength)
	}
	return nil
}

// notRemoved refuses a node id on the deny-list: a removed server stays
// out for good, even wiped (it may join under a new node id).
func (m *Membership) notRemoved(ctx context.Context, id string) error {
	gone, err := m.removed(ctx, id)
	if err != nil {
		return err
	}
	if gone {
		m.logger.Warn("membership: join of a removed node id refused", "node_id", id)
		return ErrRemoved
	}
	return nil
}

// challengeStore holds the outstanding join challenges of the active node.
// Its state is bounded: at most max challenges, each forgotten once
// answered or ttl after it was issued (swept whenever the store is used),
// so that a flood of unauthenticated challenge requests costs a fixed
// amount of memory and is refused with ErrTooManyChallenges.
type challengeStore struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	pending map[string]pendingChallenge
}

type pendingChallenge struct {
	answer  []byte
	expires time.Time
}

func newChallengeStore(max int, ttl time.Duration, now func() time.Time) *challengeStore {
	return &challengeStore{max: max, ttl: ttl, now: now, pending: map[string]pendingChallenge{}}
}

// room reports whether a challenge for serverID would be accepted now (a
// cheap check before the work of making one).
func (s *challengeStore) room(serverID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.now())
	_, replaces := s.pending[serverID]
	return replaces || len(s.pending) < s.max
}

// add records the answer expected from serverID, replacing an earlier
// challenge of the same server; it fails with ErrTooManyChallenges when
// max other challenges are outstanding.
func (s *challengeStore) add(serverID string, answer []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepLocked(now)
	if _, replaces := s.pending[serverID]; !replaces && len(s.pending) >= s.max {
		return ErrTooManyChallenges
	}
	s.pending[serverID] = pendingChallenge{answer: answer, expires: now.Add(s.ttl)}
	return nil
}

// take reports whether answer is serverID's unexpired answer (compared in
// constant time) and if so consumes the challenge. A wrong answer leaves
// it in place: whoever knows a joiner's server id cannot cancel its join
// with a bogus answer (and 256 random bits are not guessed).
func (s *challengeStore) take(serverID string, answer []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.now())
	pc, ok := s.pending[serverID]
	if !ok || subtle.ConstantTimeCompare(pc.answer, answer) != 1 {
		return false
	}
	delete(s.pending, serverID)
	return true
}

// sweepLocked forgets the challenges expired at now; callers hold s.mu.
func (s *challengeStore) sweepLocked(now time.Time) {
	for id, pc := range s.pending {
		if now.After(pc.expires) {
			delete(s.pending, id)
		}
	}
}

// outstanding returns how many challenges are held.
func (s *challengeStore) outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}
