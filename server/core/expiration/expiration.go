// Package expiration is the lease manager: it persists the lease of every
// dynamic secret (and of anything else the core leases) behind the
// barrier, revokes each at expiry on the active node with retries and
// exponential backoff, marks a lease it cannot revoke irrevocable instead
// of dropping it, renews within a lease's max TTL, revokes by prefix and
// by creating token, and enforces Vault's lease-count quotas.
//
// One Manager serves a node. Start makes it serve an active period: it
// returns at once and loads the stored leases in the background (list the
// ids, then read the records in batches), so that 100,000 leases do not
// delay the node's first answer; every operation works during the load.
// Stop ends the period promptly: revocations in flight are cancelled and
// left in storage for the next active node, which revokes every lease
// that expired meanwhile as soon as its load reaches it.
//
// Scheduling uses one goroutine and one min-heap of due times (no timer
// per lease) feeding Config.Workers revocation workers. The manager
// knows nothing of engines: a Revoker (the core) sends the Renew and
// Revoke requests to the lease's mount.
package expiration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Revoker carries out renewals and revocations on the engine that issued
// a lease (the core: a RenewOperation or RevokeOperation request with
// l.Secret to l.MountPoint).
//
// Both methods may be called concurrently, for different leases, from
// the manager's workers and from the callers of Renew, Revoke,
// RevokePrefix; never twice at once for the same lease. They must honour
// ctx (Stop cancels it and waits for them). RevokeLease must be
// idempotent: after a crash or a failed delete a lease may be revoked
// again. Errors are stored as Lease.LastError and logged: they must carry
// no secret material. RenewLease returns the renewed Secret, whose TTL is
// the duration the engine grants from now (0: the increment, or the
// lease's first TTL when the increment is 0 too); the manager caps it at
// the lease's MaxExpireTime. The Lease passed is the caller's to read,
// not to modify.
type Revoker interface {
	RevokeLease(ctx context.Context, l *Lease) error
	RenewLease(ctx context.Context, l *Lease, increment time.Duration) (*logical.Secret, error)
}

// Config configures a Manager. Zero durations and counts take
// DefaultConfig's values in New.
type Config struct {
	// Storage holds the leases and quotas (a barrier view; layout in
	// schema.go). Required.
	Storage storage.Backend
	// Revoker renews and revokes on the engines. Required.
	Revoker Revoker
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives revocation failures and load progress (default
	// slog.Default()). Lease ids are logged; secret data never is.
	Logger *slog.Logger
	// MaxAttempts is how many revocations of an expired lease may fail
	// before it is marked irrevocable (default 6, as Vault).
	MaxAttempts int
	// BaseBackoff is the delay after the first failed revocation; each
	// failure doubles it (less up to 20% jitter), up to MaxBackoff
	// (defaults 10 s and 5 min: six attempts span about five minutes).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Workers is how many revocations run at once (default 4); RevokePrefix
	// uses as many.
	Workers int
	// RevokeTimeout bounds one revocation attempt of an expired lease
	// (default 1 min); a timeout counts as a failed attempt.
	RevokeTimeout time.Duration
	// PollInterval is the longest the scheduler sleeps before reading Now
	// again (default 1 s). It bounds the lateness a wall-clock jump can
	// cause, and lets a test clock drive the scheduler.
	PollInterval time.Duration
}

// DefaultConfig returns the defaults; Storage and Revoker are left unset.
func DefaultConfig() Config {
	return Config{
		Now:           time.Now,
		Logger:        slog.Default(),
		MaxAttempts:   6,
		BaseBackoff:   10 * time.Second,
		MaxBackoff:    5 * time.Minute,
		Workers:       4,
		RevokeTimeout: time.Minute,
		PollInterval:  time.Second,
	}
}

// Validate reports the first unusable field, by name.
func (c *Config) Validate() error {
	switch {
	case c.Storage == nil:
		return errors.New("expiration: Config.Storage is required")
	case c.Revoker == nil:
		return errors.New("expiration: Config.Revoker is required")
	case c.Now == nil:
		return errors.New("expiration: Config.Now is required")
	case c.Logger == nil:
		return errors.New("expiration: Config.Logger is required")
	case c.MaxAttempts < 1:
		return fmt.Errorf("expiration: Config.MaxAttempts is %d, want at least 1", c.MaxAttempts)
	case c.BaseBackoff <= 0:
		return fmt.Errorf("expiration: Config.BaseBackoff is %v, want > 0", c.BaseBackoff)
	case c.MaxBackoff < c.BaseBackoff:
		return fmt.Errorf("expiration: Config.MaxBackoff %v is below Config.BaseBackoff %v", c.MaxBackoff, c.BaseBackoff)
	case c.Workers < 1:
		return fmt.Errorf("expiration: Config.Workers is %d, want at least 1", c.Workers)
	case c.RevokeTimeout <= 0:
		return fmt.Errorf("expiration: Config.RevokeTimeout is %v, want > 0", c.RevokeTimeout)
	case c.PollInterval <= 0:
		return fmt.Errorf("expiration: Config.PollInterval is %v, want > 0", c.PollInterval)
	}
	return nil
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	setDefault(&c.MaxAttempts, d.MaxAttempts)
	setDefault(&c.Workers, d.Workers)
	setDefault(&c.BaseBackoff, d.BaseBackoff)
	setDefault(&c.MaxBackoff, max(d.MaxBackoff, c.BaseBackoff))
	setDefault(&c.RevokeTimeout, d.RevokeTimeout)
	setDefault(&c.PollInterval, d.PollInterval)
	return c
}

func setDefault[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}

// Manager is the lease manager. All methods are safe for concurrent use.
// Every operation but Start, Stop, Loaded, Stats and RemainingTTLs
// returns ErrNotActive while the manager is not running.
type Manager struct {
	cfg     Config
	locks   keyLocks   // per-lease serialisation
	life    sync.Mutex // serialises Start and Stop
	quotaMu sync.Mutex // serialises quota changes

	mu       sync.RWMutex
	idx      *index  // nil while not running
	run      *period // nil while not running
	loaded   chan struct{}
	isLoaded bool
	txOK     bool
}

// period is one active period's goroutines and channels.
type period struct {
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // cap 1: the queue's head may have moved
	work   chan *entry
	wg     sync.WaitGroup
}

// New returns a stopped Manager.
func New(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, loaded: make(chan struct{})}, nil
}

// Name names the manager among the core's active-only services.
func (m *Manager) Name() string { return "expiration" }

// Start begins an active period: it reads the quotas (a few keys, bounded
// by ctx), then returns while the leases load in the background (ctx does
// not bound the load). Starting a running manager does nothing. An error
// means the manager did not start.
func (m *Manager) Start(ctx context.Context) error {
	m.life.Lock()
	defer m.life.Unlock()
	m.mu.RLock()
	running := m.run != nil
	m.mu.RUnlock()
	if running {
		return nil
	}
	quotas, err := m.loadQuotas(ctx)
	if err != nil {
		return err
	}
	tx, ok := m.cfg.Storage.(storage.Transactional)
	txOK := ok && tx.Transaction(ctx, nil) == nil
	idx := newIndex()
	idx.quotas = quotas
	idx.recount()
	pctx, cancel := context.WithCancel(context.Background())
	p := &period{ctx: pctx, cancel: cancel, wake: make(chan struct{}, 1), work: make(chan *entry)}
	loaded := make(chan struct{})
	m.mu.Lock()
	m.idx, m.run, m.loaded, m.isLoaded, m.txOK = idx, p, loaded, false, txOK
	m.mu.Unlock()
	p.wg.Add(2 + m.cfg.Workers)
	go m.schedule(p, idx)
	go m.load(p, idx, loaded)
	for range m.cfg.Workers {
		go m.work(p, idx)
	}
	return nil
}

// Stop ends the active period and returns once the manager's goroutines
// have: revocations in flight are cancelled (not counted as failures) and
// stay in storage for the next active node. Stopping a stopped manager
// does nothing.
func (m *Manager) Stop() {
	m.life.Lock()
	defer m.life.Unlock()
	m.mu.Lock()
	p := m.run
	m.idx, m.run = nil, nil
	m.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

// Loaded returns a channel closed once the current active period (or the
// last one, after Stop) has loaded every stored lease. It is never closed
// for a period stopped before its load finished.
func (m *Manager) Loaded() <-chan struct{} {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.loaded
}

// Stats are the manager's counters, for metrics.
type Stats struct {
	// ByMount counts live leases (irrevocable ones included) by mount
	// point. While loading it counts only the leases read so far.
	ByMount map[string]int
	// Irrevocable counts leases marked irrevocable.
	Irrevocable int
	// Loaded says the load of the current active period has finished.
	Loaded bool
}

// Stats returns the current counters (zero while not running).
func (m *Manager) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.idx == nil {
		return Stats{ByMount: map[string]int{}}
	}
	by := make(map[string]int, len(m.idx.byMount))
	for k, v := range m.idx.byMount {
		by[k] = v
	}
	return Stats{ByMount: by, Irrevocable: m.idx.irrevocable, Loaded: m.isLoaded}
}

// RemainingTTLs calls fn with the mount and remaining time (0 once
// expired) of every loaded lease that is not irrevocable, for the
// secretum_vault_secret_lease_expiry histogram computed at scrape. fn
// runs under the manager's read lock: it must be quick and must not call
// the Manager.
func (m *Manager) RemainingTTLs(fn func(mount string, remaining time.Duration)) {
	now := m.cfg.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.idx == nil {
		return
	}
	for _, e := range m.idx.leases {
		if e.mount == "" || e.state == stateIrrevocable {
			continue
		}
		fn(e.mount, max(e.expire.Sub(now), 0))
	}
}

// IrrevocableIDs returns the ids of the leases marked irrevocable, in
// lexical order (as Vault's sys/leases?type=irrevocable); empty while
// not running. Lookup gives each one's attempts and last error.
func (m *Manager) IrrevocableIDs() []string {
	m.mu.RLock()
	var ids []string
	if m.idx != nil {
		for id, e := range m.idx.leases {
			if e.state == stateIrrevocable {
				ids = append(ids, id)
			}
		}
	}
	m.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// active returns ErrNotActive while the manager is not running.
func (m *Manager) active() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.idx == nil {
		return ErrNotActive
	}
	return nil
}

// update runs fn on the current index under the write lock; it does
// nothing while the manager is not running. It wakes the scheduler.
func (m *Manager) update(fn func(x *index)) {
	m.mu.Lock()
	x, p := m.idx, m.run
	if x != nil {
		fn(x)
	}
	m.mu.Unlock()
	if p != nil {
		p.poke()
	}
}

// poke tells the scheduler that the queue's head may have moved.
func (p *period) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
