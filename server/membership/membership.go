package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// Barrier is what membership needs of the core's barrier: storage behind
// it (replicated, encrypted, the path bound as AAD) and values sealed with
// its keyring under an explicit context. *barrier.AESGCMBarrier
// implements it. Methods fail with barrier.ErrSealed while sealed.
type Barrier interface {
	storage.Backend
	// Encrypt seals plaintext under the current key term, binding aad.
	Encrypt(aad string, plaintext []byte) ([]byte, error)
	// Decrypt opens a value made by Encrypt with the same aad.
	Decrypt(aad string, ciphertext []byte) ([]byte, error)
}

// SealSource is what a join challenge hands a joining node besides the
// challenge itself, and what a joined node waits for to replicate: the
// node's seal configuration and its keyring as stored. Methods read local
// (physical) state and work while sealed.
type SealSource interface {
	// SealConfig returns the Shamir configuration, nil before init.
	SealConfig(ctx context.Context) (*seal.Config, error)
	// StoredKeyring returns the keyring as stored (ciphertext under the
	// root key), nil before init.
	StoredKeyring(ctx context.Context) ([]byte, error)
	// StaticSealBlob returns the root key wrapped with the static seal
	// key, nil without a static seal.
	StaticSealBlob(ctx context.Context) ([]byte, error)
	// WrappedRootKey returns the root key wrapped with the unseal key
	// (storage/seal.WrappedRootKeyPath), nil for a seal whose shares are
	// the root key itself.
	WrappedRootKey(ctx context.Context) ([]byte, error)
}

// Role tells membership the node's seal and active state, owned by the
// core.
type Role interface {
	// Standby reports whether the node is an unsealed standby and, if so,
	// the active node's cluster address ("" while unknown).
	Standby() (standby bool, activeClusterAddr string)
}

// Options are the tunables of a Membership. The zero value of a field
// means its default (DefaultOptions).
type Options struct {
	// NodeCertTTL is the lifetime of every node certificate this node
	// issues (at init, at unseal, to joining nodes, on renewal).
	NodeCertTTL time.Duration
	// ChallengeTTL is how long a join challenge may be answered.
	ChallengeTTL time.Duration
	// MaxChallenges bounds the join challenges the active node holds at
	// once; more are refused with ErrTooManyChallenges until some expire
	// or are answered.
	MaxChallenges int
	// RetryJoinInterval is the pause between join attempts of RetryJoin;
	// RetryJoinTimeout is when RetryJoin gives up.
	RetryJoinInterval time.Duration
	RetryJoinTimeout  time.Duration
}

// MinNodeCertTTL is the shortest NodeCertTTL Validate accepts: a renewal
// must fit comfortably in the last third of a certificate's life.
const MinNodeCertTTL = 10 * time.Second

// DefaultOptions returns the production tunables: 72h node certificates,
// 10-minute join challenges (at most 32 outstanding), join retries every
// 2 s for an hour.
func DefaultOptions() Options {
	return Options{
		NodeCertTTL:       cluster.DefaultCertTTL,
		ChallengeTTL:      10 * time.Minute,
		MaxChallenges:     32,
		RetryJoinInterval: 2 * time.Second,
		RetryJoinTimeout:  time.Hour,
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	orDefault(&o.NodeCertTTL, d.NodeCertTTL)
	orDefault(&o.ChallengeTTL, d.ChallengeTTL)
	orDefault(&o.MaxChallenges, d.MaxChallenges)
	orDefault(&o.RetryJoinInterval, d.RetryJoinInterval)
	orDefault(&o.RetryJoinTimeout, d.RetryJoinTimeout)
	return o
}

// Validate reports the first invalid field (after defaults).
func (o *Options) Validate() error {
	switch {
	case o.NodeCertTTL < MinNodeCertTTL:
		return fmt.Errorf("membership: Options.NodeCertTTL %v is shorter than %v", o.NodeCertTTL, MinNodeCertTTL)
	case o.ChallengeTTL <= 0:
		return errors.New("membership: Options.ChallengeTTL must be positive")
	case o.MaxChallenges <= 0:
		return errors.New("membership: Options.MaxChallenges must be positive")
	case o.RetryJoinInterval <= 0 || o.RetryJoinTimeout <= 0:
		return errors.New("membership: Options.RetryJoinInterval and RetryJoinTimeout must be positive")
	}
	return nil
}

// Config configures a Membership. Cluster, Barrier, Seal and Role are
// required.
type Config struct {
	Cluster Cluster
	Barrier Barrier
	Seal    SealSource
	Role    Role
	// Logger receives membership events; nil discards. No secret is ever
	// logged.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Version is the server version autopilot reports.
	Version string
	// Options are the tunables.
	Options Options
}

// Validate reports the first missing or invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Cluster == nil:
		return errors.New("membership: Config.Cluster is required")
	case c.Barrier == nil:
		return errors.New("membership: Config.Barrier is required")
	case c.Seal == nil:
		return errors.New("membership: Config.Seal is required")
	case c.Role == nil:
		return errors.New("membership: Config.Role is required")
	}
	return c.Options.Validate()
}

// Membership is the raft membership of one clustered node.
type Membership struct {
	cluster Cluster
	barrier Barrier
	seal    SealSource
	role    Role
	logger  *slog.Logger
	now     func() time.Time
	version string
	opts    Options

	// challenges are the join challenges this node handed out as leader.
	challenges *challengeStore
	// autopilot is the active-only service.
	autopilot *Autopilot
	// retrying is set while a RetryJoin loop runs; lastJoinFailure is the
	// last join failure logged.
	retrying        atomic.Bool
	lastJoinFailure atomic.Pointer[string]
	// port is the cluster's Port power (nil without one); background
	// starts, once, the loops every started node runs on it.
	port       Port
	background sync.Once
	echo       echoSender
	renew      renewer
	// denied is this node's copy of the deny-list, consulted at every
	// cluster handshake; refusals rate-limits logging them.
	denied     cluster.DenyList
	refusalsMu sync.Mutex
	refusals   map[string]time.Time
}

// New builds the membership of a node over cfg.Cluster. It starts
// nothing: the first cluster start (StartForInit, StartAfterUnseal or
// CompleteJoin) starts its background work.
func New(cfg Config) (*Membership, error) {
	cfg.Options = cfg.Options.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Membership{
		cluster: cfg.Cluster, barrier: cfg.Barrier, seal: cfg.Seal, role: cfg.Role,
		logger: logger, now: cfg.Now, version: cfg.Version, opts: cfg.Options,
	}
	m.challenges = newChallengeStore(cfg.Options.MaxChallenges, cfg.Options.ChallengeTTL, cfg.Now)
	m.autopilot = &Autopilot{m: m}
	m.refusals = map[string]time.Time{}
	if p, ok := cfg.Cluster.(Port); ok {
		m.port = p
		p.SetPeerCheck(m.checkPeer)
	}
	return m, nil
}

// Autopilot returns the node's autopilot, an active-only service: the
// core starts it when the node becomes active and stops it when it stops
// being active.
func (m *Membership) Autopilot() *Autopilot { return m.autopilot }

// startBackground starts, once, the work every node with a started
// cluster network does whatever its role: serving the membership service,
// reporting to autopilot, renewing its certificate, reloading the
// deny-list.
func (m *Membership) startBackground() {
	m.background.Do(func() {
		if m.port == nil {
			return
		}
		m.startPort(m.port)
		m.startEcho(m.port)
		m.startRenewal(m.port)
		m.startDenyRefresh()
	})
}

// orDefault sets *v to def if it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
