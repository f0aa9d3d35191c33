// Package lockout is the login lockout every auth method shares: after
// Threshold failed logins for one key (a user or role name together with
// the client address) within CounterReset, that key is refused for
// Duration, whatever the credentials. It mirrors Vault's user lockout
// (lockout_threshold, lockout_duration, lockout_counter_reset,
// lockout_disable).
//
// The counters live in memory on the active node: a failover starts
// them afresh, which costs an attacker nothing they did not have.
package lockout

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// ErrLockedOut is returned for a key that is locked out. It is a
// permission denial (403) that says no more than a bad password would.
var ErrLockedOut = fmt.Errorf("%w: too many failed logins, try again later", logical.ErrPermissionDenied)

// Config is a mount's lockout policy.
type Config struct {
	// Threshold failures within CounterReset lock a key (default 5).
	Threshold int
	// Duration is how long a key stays locked (default 15m).
	Duration time.Duration
	// CounterReset forgets failures older than this (default 15m).
	CounterReset time.Duration
	// Disable turns lockout off.
	Disable bool
}

// DefaultConfig is Vault's default: 5 failures, 15 minutes, 15 minutes.
func DefaultConfig() Config {
	return Config{Threshold: 5, Duration: 15 * time.Minute, CounterReset: 15 * time.Minute}
}

// ConfigFrom reads a mount's options (lockout_threshold,
// lockout_duration, lockout_counter_reset, lockout_disable); absent keys
// keep their defaults.
func ConfigFrom(opts map[string]string) (Config, error) {
	c := DefaultConfig()
	if v, ok := opts["lockout_threshold"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%w: lockout_threshold must be a positive integer", logical.ErrInvalidRequest)
		}
		c.Threshold = n
	}
	for key, dst := range map[string]*time.Duration{"lockout_duration": &c.Duration, "lockout_counter_reset": &c.CounterReset} {
		if v, ok := opts[key]; ok {
			d, err := framework.ParseDuration(v)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("%w: %s must be a positive duration", logical.ErrInvalidRequest, key)
			}
			*dst = d
		}
	}
	if v, ok := opts["lockout_disable"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%w: lockout_disable must be a boolean", logical.ErrInvalidRequest)
		}
		c.Disable = b
	}
	return c, nil
}

// maxKeys bounds the tracker's memory: beyond it, stale keys are pruned.
const maxKeys = 100_000

type state struct {
	failures    int
	first       time.Time
	lockedUntil time.Time
}

// Tracker counts failed logins per key. Safe for concurrent use.
type Tracker struct {
	cfg Config
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*state
}

// New returns a Tracker with cfg; now nil means time.Now.
func New(cfg Config, now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{cfg: cfg, now: now, keys: map[string]*state{}}
}

// Key is the lockout key of a login name from a client address.
func Key(name, remoteAddr string) string { return name + "\x00" + remoteAddr }

// Check returns ErrLockedOut while key is locked.
func (t *Tracker) Check(key string) error {
	if t.cfg.Disable {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.keys[key]; ok && t.now().Before(s.lockedUntil) {
		return ErrLockedOut
	}
	return nil
}

// Fail records a failed login for key and reports whether it is now
// locked.
func (t *Tracker) Fail(key string) bool {
	if t.cfg.Disable {
		return false
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.keys[key]
	if !ok || now.Sub(s.first) > t.cfg.CounterReset && !now.Before(s.lockedUntil) {
		if len(t.keys) >= maxKeys {
			t.pruneLocked(now)
		}
		s = &state{first: now}
		t.keys[key] = s
	}
	s.failures++
	if s.failures >= t.cfg.Threshold {
		s.lockedUntil = now.Add(t.cfg.Duration)
		s.failures, s.first = 0, now
		return true
	}
	return false
}

// Succeed forgets key's failures after a successful login.
func (t *Tracker) Succeed(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

func (t *Tracker) pruneLocked(now time.Time) {
	for k, s := range t.keys {
		if now.Sub(s.first) > t.cfg.CounterReset && !now.Before(s.lockedUntil) {
			delete(t.keys, k)
		}
	}
}
