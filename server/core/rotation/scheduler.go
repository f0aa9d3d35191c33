// Package rotation is the rotation-policy scheduler of the core: an
// active-only service that rotates the secrets a policy matches on its
// cron schedule, watches their age against max_age and warn_at, checks
// verifiable ones for drift, and enforces what the policy says — rotate,
// notify (webhooks) or quarantine (the secret's paths answer 403 naming
// the policy until it is rotated). Engines take part by implementing
// logical.Rotator.
//
// Every slot is fenced: its state is committed through the (replicated)
// storage before its first rotation, so a leader flap never rotates a
// slot twice, and a slot missed or cut short by a failover runs once on
// the new active node (a secret rotated since the slot started is not
// rotated again). Every action is audited through Config.Audit.
//
// Storage is described in schema.go. A Scheduler is safe for concurrent
// use.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Sentinel errors.
var (
	// ErrNotActive: the scheduler is not running (not the active node).
	ErrNotActive = fmt.Errorf("rotation: not active: %w", logical.ErrUnavailable)
	// ErrDeclared: the policy is declared in the server configuration.
	ErrDeclared = errors.New("rotation: policy declared in the server configuration")
)

// Mount is one mount whose engine is a logical.Rotator.
type Mount struct {
	// Path is the mount path with a trailing slash ("secret/").
	Path string
	// Type is the engine type ("kv").
	Type    string
	Rotator logical.Rotator
	Storage logical.Storage
}

// Action is one thing the scheduler does to one secret, for the audit
// log: Kind is rotate, warn, overdue, quarantine, lift, drift or notify.
type Action struct {
	Kind, Policy, Path, Reason string
}

// Auditor writes the audit entry pair of an action around do (which
// returns the rotation's non-secret version, "" for others) and returns
// do's error, or the audit's when it could not record the action (do is
// then not run).
type Auditor func(ctx context.Context, a Action, do func() (version string, err error)) error

// Config configures a Scheduler.
type Config struct {
	// Storage is the scheduler's barrier view ("sys/rotation/").
	Storage storage.Backend
	// Mounts returns the active node's mounts whose engine rotates.
	Mounts func() []Mount
	// Audit audits every action (nil: none, for tests).
	Audit Auditor
	// Declared are the policies of the server configuration, installed
	// (replacing API ones of the same name) on every start.
	Declared []*Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets events, never a secret.
	Logger *slog.Logger
	// CheckInterval is how often ages, quarantines and drift are
	// checked (default 10s).
	CheckInterval time.Duration
	// RetryBase and RetryMax bound the backoff of failed rotations
	// (default 1s and 5m).
	RetryBase, RetryMax time.Duration
	// HTTPClient sends webhooks (default: 10 s timeout).
	HTTPClient *http.Client
}

func (c *Config) withDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 10 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 5 * time.Minute
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Audit == nil {
		c.Audit = func(_ context.Context, _ Action, do func() (string, error)) error { _, err := do(); return err }
	}
}

// Scheduler is the rotation service. See the package comment.
type Scheduler struct {
	cfg  Config
	life sync.Mutex // serialises Start and Stop
	// runMu serialises slot runs, age passes and manual rotations, so
	// that one secret is never rotated by two of them at once.
	runMu sync.Mutex

	mu       sync.Mutex
	run      *period
	policies map[string]*policyState
	stats    map[string]*PolicyStats
	seq      uint64 // the last history sequence number handed out

	quarantine quarantineSet
	notifier   *notifier
}

// policyState is a policy with its schedule and in-memory progress.
type policyState struct {
	p          *Policy
	next       time.Time // next slot (zero: no schedule)
	lastVerify time.Time
	retries    map[string]retryState // by full path
	warned     map[string]bool       // warned (or notified overdue) episodes
}

type retryState struct {
	attempts int
	next     time.Time
}

// period is one active period.
type period struct {
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}
}

// New returns a stopped Scheduler.
func New(cfg Config) (*Scheduler, error) {
	cfg.withDefaults()
	if cfg.Storage == nil || cfg.Mounts == nil {
		return nil, errors.New("rotation: Storage and Mounts are required")
	}
	for _, p := range cfg.Declared {
		p.withDefaults()
		p.Source = "config"
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("rotation: declared %s: %w", p, err)
		}
	}
	s := &Scheduler{cfg: cfg}
	s.notifier = newNotifier(cfg.HTTPClient, cfg.Logger)
	return s, nil
}

// Name names the service.
func (s *Scheduler) Name() string { return "rotation" }

// Start loads the policies, slots and quarantines and starts the loop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.running() {
		return nil
	}
	if err := s.installDeclared(ctx); err != nil {
		return err
	}
	states, err := s.loadPolicies(ctx)
	if err != nil {
		return err
	}
	q, err := s.loadQuarantine(ctx)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &period{ctx: pctx, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	s.run, s.policies = p, states
	s.stats = map[string]*PolicyStats{}
	s.mu.Unlock()
	s.quarantine.replace(q)
	s.notifier.start(pctx)
	go s.loop(p)
	return nil
}

// Stop stops the loop and waits for the run in progress to end.
func (s *Scheduler) Stop() {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	p := s.run
	s.run = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
	s.notifier.stop()
	s.quarantine.replace(nil)
}

func (s *Scheduler) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run != nil
}

// active returns the running period or ErrNotActive.
func (s *Scheduler) active() (*period, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil {
		return nil, ErrNotActive
	}
	return s.run, nil
}

// poke wakes the loop (a policy changed).
func (p *period) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// loop runs due slots and, every CheckInterval, an age pass.
func (s *Scheduler) loop(p *period) {
	defer close(p.done)
	s.resume(p.ctx)
	nextCheck := s.cfg.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := s.cfg.Now()
		s.runDueSlots(p.ctx, now)
		if !now.Before(nextCheck) {
			s.checkPass(p.ctx)
			nextCheck = s.cfg.Now().Add(s.cfg.CheckInterval)
		}
		wait := nextCheck.Sub(s.cfg.Now())
		if ns := s.nextSlot(); !ns.IsZero() {
			wait = min(wait, ns.Sub(s.cfg.Now()))
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
		if p.ctx.Err() != nil {
			return
		}
	}
}
