// Package core is the request pipeline of a vaultd node: the seal state
// machine, the mount table and router, the token store wiring and the
// system backend. It delegates each job to its own type (barrier, seal,
// token store, router); Core only sequences them.
package core

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/authz"
	"github.com/secretumvault/secretumvault/engines/auth/approle"
	"github.com/secretumvault/secretumvault/engines/auth/cert"
	"github.com/secretumvault/secretumvault/engines/auth/jwt"
	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/auth/userpass"
	"github.com/secretumvault/secretumvault/engines/aws"
	"github.com/secretumvault/secretumvault/engines/database"
	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/database/mysql"
	"github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/engines/kv"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/pki"
	"github.com/secretumvault/secretumvault/engines/ssh"
	"github.com/secretumvault/secretumvault/engines/transit"
	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/server/core/rotation"
	"github.com/secretumvault/secretumvault/server/core/token"
	"github.com/secretumvault/secretumvault/server/membership"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// Version is the server version reported by seal-status and health.
var Version = "0.1.0"

// Sentinel errors of the core (each wraps the logical error that decides
// its status code).
var (
	// ErrAlreadyInitialized: sys/init on an initialised server.
	ErrAlreadyInitialized = fmt.Errorf("%w: Vault is already initialized", logical.ErrInvalidRequest)
	// ErrNotInitialized: unseal before init.
	ErrNotInitialized = fmt.Errorf("%w: Vault is not initialized", logical.ErrInvalidRequest)
	// ErrMissingToken: a request without a client token.
	ErrMissingToken = fmt.Errorf("%w: missing client token", logical.ErrPermissionDenied)
)

// Config configures a Core.
type Config struct {
	// Physical is the storage backend the barrier encrypts into.
	Physical storage.Backend
	// Logger receives structured logs; nil discards.
	Logger *slog.Logger
	// StorageType is reported by sys/seal-status (e.g. "raft", "inmem").
	StorageType string
	// APIAddr is this node's advertised API address (sys/leader).
	APIAddr string
	// ClusterAddr is this node's cluster address (sys/leader).
	ClusterAddr string
	// Factories maps engine types to constructors; nil means the built-ins.
	Factories map[string]logical.Factory
	// AuthFactories maps auth method types to constructors (the token
	// store is built in and always mounted at auth/token/).
	AuthFactories map[string]logical.Factory
	// Authorizer decides every authenticated request; nil means the
	// stored policies (Cedar and compiled Vault HCL), the server's own.
	// Tests may set authz.Interim.
	Authorizer authz.Authorizer
	// Audit is the server configuration's audit settings (declared
	// devices, what options devices may use).
	Audit AuditConfig
	// AuditBroker, when set, replaces the audit devices: every request
	// and response goes to it (tests).
	AuditBroker audit.Broker
	// KeyRotationCheck is how often the active node checks whether the
	// barrier key term is due for rotation (sys/rotate/config) and
	// persists the encryption count; 0 means a minute.
	KeyRotationCheck time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Cluster is the replication layer of a clustered node; nil means a
	// single node whose physical backend needs no network (tests, inmem).
	Cluster membership.Cluster
	// Membership tunes the raft membership of a clustered node (node
	// certificate lifetime, join challenge limits, join retries); zero
	// fields mean membership.DefaultOptions.
	Membership membership.Options
	// RotationPolicies are the server configuration's rotation_policy
	// blocks (only the configuration changes them).
	RotationPolicies []*rotation.Policy
	// RotationCheckInterval is how often the rotation scheduler checks
	// secret ages, quarantines and drift (default 10s).
	RotationCheckInterval time.Duration
	// RotationWebhookHosts are the hosts a KV secret's rotate_webhook may
	// name ("hooks.example.com", "*.example.com"; "*" for any); empty
	// refuses every rotate_webhook.
	RotationWebhookHosts []string
	// LeaseBackoff is the expiration manager's first retry delay after a
	// failed revocation (0: 10s; it doubles per attempt). Tests shorten it.
	LeaseBackoff time.Duration
	// StaticSealKey, when set (32 bytes), lets the node unseal itself:
	// init stores the root key wrapped with it, AutoUnseal opens it, and a
	// joining node answers the join challenge with it. Anyone holding the
	// key and the data directory can read the data (ADR 0005).
	StaticSealKey []byte
}

// DefaultConfig returns a Config with the built-in engines.
func DefaultConfig() Config {
	return Config{
		StorageType: "inmem",
		Factories: map[string]logical.Factory{
			"kv": kv.Factory,
			database.Type: database.Factory(map[string]func() dbplugin.Database{
				postgres.TypeName: func() dbplugin.Database { return postgres.New() },
				mysql.TypeName:    func() dbplugin.Database { return mysql.New() },
			}),
			aws.Type:     aws.Factory(),
			pki.Type:     pki.Factory(),
			ssh.Type:     ssh.Factory(),
			transit.Type: transit.Factory(),
		},
		AuthFactories: map[string]logical.Factory{
			approle.Type: approle.Factory, userpass.Type: userpass.Factory, keypair.Type: keypair.Factory,
			cert.Type: cert.Factory, jwt.Type: jwt.Factory, jwt.TypeOIDC: jwt.Factory,
		},
		Now: time.Now,
	}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	if c.Physical == nil {
		return errors.New("core: Config.Physical is required")
	}
	return nil
}

// Core is one node's request pipeline.
type Core struct {
	cfg      Config
	logger   *slog.Logger
	physical storage.Backend
	barrier  *barrier.AESGCMBarrier
	shamir   *seal.Shamir
	unsealer *seal.Unsealer

	// stateLock serialises seal/unseal/init transitions; requests take it
	// for reading so a seal waits for in-flight requests.
	stateLock sync.RWMutex
	sealed    atomic.Bool
	active    atomic.Pointer[activeState]
	activeAt  time.Time

	// mountsLock serialises mount table changes.
	mountsLock sync.Mutex
	// transitionLock serialises active/standby transitions.
	transitionLock sync.Mutex
	observeOnce    sync.Once
	// clusterInfo is the cluster's name and id, cached at unseal.
	clusterInfo atomic.Pointer[clusterInfo]
	// sealedTransferAt is when a sealed leader last handed leadership on.
	sealedTransferAt atomic.Int64
	// members is the raft membership of a clustered node (nil without a
	// Cluster); join is its pending join while a node without state waits
	// for the unseal keys that answer the join challenge.
	members *membership.Membership
	join    *membership.PendingJoin

	// sys is the backend mounted at sys/; authorizer and audits are the
	// pipeline's authorize and audit stages.
	sys        *systemBackend
	authorizer authz.Authorizer
	audits     *auditDevices
	// leases is the expiration manager (running while active).
	leases *expiration.Manager
	// rotation is the rotation-policy scheduler (running while active).
	rotation *rotation.Scheduler
	// overrideAudit holds Config.AuditBroker.
	overrideAudit *auditSet
	// services run only while this node is active.
	services *activeServices
	// unauthLimiter rate-limits unauthenticated routes per client.
	unauthLimiter *clientLimiter
	// ceremonies are the rekey and generate-root ceremonies in progress.
	ceremonies ceremonies
}

// activeState is what exists only while unsealed.
type activeState struct {
	tokens   *token.Store
	policies *policyStore
	identity identitySource
	mounts   *mountTable // secrets engines
	auths    *mountTable // auth methods other than the token store
	router   *router
	cluster  clusterInfo
}

// table returns the state's mount table of kind.
func (st *activeState) table(kind mountKind) *mountTable {
	if kind == authMounts {
		return st.auths
	}
	return st.mounts
}

// setTable installs a new mount table of kind.
func (st *activeState) setTable(kind mountKind, mt *mountTable) {
	if kind == authMounts {
		st.auths = mt
		return
	}
	st.mounts = mt
}

// New builds a sealed Core over cfg.Physical.
func New(cfg Config) (*Core, error) {
	def := DefaultConfig()
	if cfg.Factories == nil {
		cfg.Factories = def.Factories
	}
	if cfg.AuthFactories == nil {
		cfg.AuthFactories = def.AuthFactories
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if cfg.StorageType == "" {
		cfg.StorageType = def.StorageType
	}
	if cfg.KeyRotationCheck <= 0 {
		cfg.KeyRotationCheck = time.Minute
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Core{
		cfg:      cfg,
		logger:   logger,
		physical: cfg.Physical,
		barrier:  barrier.New(cfg.Physical),
		shamir:   seal.New(cfg.Physical),

		authorizer: cfg.Authorizer,
	}
	c.audits = newAuditDevices(c, cfg.Audit)
	if cfg.AuditBroker != nil {
		c.overrideAudit = &auditSet{broker: cfg.AuditBroker}
	}
	c.sys = newSystemBackend(c)
	c.unauthLimiter = newClientLimiter(cfg.Now)
	c.services = newActiveServices(logger)
	if cfg.Cluster != nil {
		m, err := membership.New(membership.Config{
			Cluster: cfg.Cluster, Barrier: c.barrier, Seal: memberView{c}, Role: memberView{c},
			Logger: logger, Now: cfg.Now, Version: Version, Options: cfg.Membership,
		})
		if err != nil {
			return nil, err
		}
		c.members = m
		c.services.add(m.Autopilot())
	}
	c.services.add(&keyRotationService{core: c, every: cfg.KeyRotationCheck})
	c.services.add(&engineService{core: c})
	leases, err := c.newLeaseManager()
	if err != nil {
		return nil, err
	}
	c.leases = leases
	// Last to start, first to stop: leases are revoked before the
	// engines clean up.
	c.services.add(leases)
	if c.rotation, err = c.newRotationScheduler(); err != nil {
		return nil, err
	}
	c.services.add(c.rotation) // stops first: no rotation while engines clean up
	c.unsealer = c.newUnsealer()
	c.sealed.Store(true)
	return c, nil
}

func (c *Core) newUnsealer() *seal.Unsealer { return c.shamir.NewUnsealer() }

// Sealed reports whether the node is sealed.
func (c *Core) Sealed() bool { return c.sealed.Load() }

// state returns the unsealed state or ErrSealed.
func (c *Core) state() (*activeState, error) {
	if c.sealed.Load() {
		return nil, logical.ErrSealed
	}
	st := c.active.Load()
	if st == nil {
		return nil, ErrStandby
	}
	return st, nil
}
