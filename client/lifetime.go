package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Reasons a LifetimeWatcher stops renewing, sent on DoneCh (wrapped).
var (
	// ErrNotRenewable: the lease or token is not renewable (or has no
	// TTL), so the watcher cannot keep it alive.
	ErrNotRenewable = errors.New("client: lease is not renewable")
	// ErrMaxTTLReached: renewals stopped extending the lease (its max TTL
	// caps them) and what is left is within the grace period: the secret
	// expires soon, fetch a new one.
	ErrMaxTTLReached = errors.New("client: lease reached its max TTL")
)

// LifetimeWatcherInput describes what a LifetimeWatcher keeps alive.
type LifetimeWatcherInput struct {
	// Secret is the answer that issued the lease (Secret.LeaseID, e.g.
	// database creds' Raw) or the token (Secret.Auth, e.g. a login's
	// answer or Token().Create's).
	Secret *Secret
	// Increment is the TTL asked on each renewal; 0 asks for the
	// secret's initial lease duration again.
	Increment time.Duration
}

// RenewOutput is one successful renewal.
type RenewOutput struct {
	// RenewedAt is when the answer arrived.
	RenewedAt time.Time
	// LeaseDuration is the TTL the server granted.
	LeaseDuration time.Duration
	// Secret is the renewal's answer (for a token, Auth holds the TTL).
	Secret *Secret
}

// LifetimeWatcher renews a lease or a token, as Vault's
// api.LifetimeWatcher: once at Start, then each time about 2/3 of the
// granted TTL has passed (plus a third of a random grace period of 10-20%
// of the TTL, the jitter), until renewal stops: see DoneCh. Once the
// server grants less than the increment asked (the max TTL caps it), no
// renewal can help: the watcher waits until the grace period before the
// expiry and reports ErrMaxTTLReached, leaving the caller that long to
// fetch new credentials. Create it with Client.NewLifetimeWatcher, then
// Start it.
type LifetimeWatcher struct {
	c         *Client
	secret    *Secret
	token     string // token mode when set
	increment time.Duration

	renewCh chan *RenewOutput
	doneCh  chan error

	once   sync.Once
	mu     sync.Mutex
	cancel context.CancelFunc
	stop   bool
}

// NewLifetimeWatcher returns a watcher for in.Secret: its token when it
// has an Auth block with a client token, else its lease.
func (c *Client) NewLifetimeWatcher(in *LifetimeWatcherInput) (*LifetimeWatcher, error) {
	switch {
	case in == nil || in.Secret == nil:
		return nil, invalidArg("lifetime watcher needs a secret")
	case in.Increment < 0:
		return nil, invalidArg("lifetime watcher: negative increment")
	}
	w := &LifetimeWatcher{c: c, secret: in.Secret, increment: in.Increment,
		renewCh: make(chan *RenewOutput, 1), doneCh: make(chan error, 1)}
	if a := in.Secret.Auth; a != nil && a.ClientToken != "" {
		w.token = a.ClientToken
	} else if in.Secret.LeaseID == "" {
		return nil, invalidArg("lifetime watcher: the secret has neither a token nor a lease id")
	}
	return w, nil
}

// RenewCh receives each successful renewal. It holds one: a renewal
// made while the caller has not taken the previous one is not sent, so
// the watcher never blocks on it.
func (w *LifetimeWatcher) RenewCh() <-chan *RenewOutput { return w.renewCh }

// DoneCh receives one value when the watcher stops: nil after Stop, the
// context's error when the context given to Start ends, an error wrapping
// ErrNotRenewable or ErrMaxTTLReached, or the error of a renewal that
// failed (after the client's retries). In every case but Stop the caller
// should fetch new credentials (log in again, read new creds).
func (w *LifetimeWatcher) DoneCh() <-chan error { return w.doneCh }

// Start runs the watcher in a new goroutine until ctx ends, Stop is
// called, or renewal stops. Later calls do nothing.
func (w *LifetimeWatcher) Start(ctx context.Context) {
	w.once.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		w.mu.Lock()
		w.cancel = cancel
		stopped := w.stop
		w.mu.Unlock()
		if stopped {
			cancel()
		}
		go func() {
			defer cancel()
			err := w.run(ctx)
			w.mu.Lock()
			if w.stop {
				err = nil
			}
			w.mu.Unlock()
			w.doneCh <- err
		}()
	})
}

// Stop ends the watcher; DoneCh then receives nil.
func (w *LifetimeWatcher) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stop = true
	if w.cancel != nil {
		w.cancel()
	}
}

// run is the renewal loop.
func (w *LifetimeWatcher) run(ctx context.Context) error {
	initial, renewable := w.lease(w.secret)
	if !renewable || initial <= 0 {
		return fmt.Errorf("lifetime watcher: %w (renewable %v, ttl %s)", ErrNotRenewable, renewable, initial)
	}
	increment := w.increment
	if increment == 0 {
		increment = initial
	}
	increment = max(increment, time.Second)
	prior, grace := initial, graceFor(initial)
	for {
		s, err := w.renew(ctx, increment)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("lifetime watcher: renew: %w", err)
		}
		d, renewable := w.lease(s)
		select {
		case w.renewCh <- &RenewOutput{RenewedAt: time.Now(), LeaseDuration: d, Secret: s}:
		default:
		}
		if !renewable {
			return fmt.Errorf("lifetime watcher: %w (the server says so after renewal)", ErrNotRenewable)
		}
		if d > prior {
			grace = graceFor(d)
		}
		prior = d
		if d+time.Second < increment {
			// The max TTL capped the grant (by more than the rounding to
			// whole seconds): no renewal can extend the lease further.
			// Let the caller use it until the grace period.
			if err := sleepCtx(ctx, d-grace); err != nil {
				return err
			}
			return fmt.Errorf("lifetime watcher: %w (granted %s of the %s asked)", ErrMaxTTLReached, d, increment)
		}
		sleep := d*2/3 + grace/3
		if d <= grace || d-sleep <= grace {
			return fmt.Errorf("lifetime watcher: %w (%s left)", ErrMaxTTLReached, d)
		}
		if err := sleepCtx(ctx, sleep); err != nil {
			return err
		}
	}
}

// sleepCtx waits d (nothing when d <= 0) or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// renew renews the token (as itself) or the lease.
func (w *LifetimeWatcher) renew(ctx context.Context, increment time.Duration) (*Secret, error) {
	if w.token != "" {
		return w.c.withToken(w.token).Token().RenewSelf(ctx, increment)
	}
	r, err := w.c.Sys().RenewLease(ctx, w.secret.LeaseID, increment)
	if err != nil {
		return nil, err
	}
	return &Secret{LeaseID: r.LeaseID, LeaseDuration: r.LeaseDuration, Renewable: r.Renewable, Warnings: r.Warnings}, nil
}

// lease is the TTL and renewability of a token's or a lease's answer.
func (w *LifetimeWatcher) lease(s *Secret) (time.Duration, bool) {
	if w.token != "" {
		if s.Auth == nil {
			return 0, false
		}
		return time.Duration(s.Auth.LeaseDuration) * time.Second, s.Auth.Renewable
	}
	return time.Duration(s.LeaseDuration) * time.Second, s.Renewable
}

// graceFor is a random grace period of 10-20% of d (Vault's jitter).
func graceFor(d time.Duration) time.Duration {
	tenth := d / 10
	if tenth <= 0 {
		return 0
	}
	return tenth + rand.N(tenth) //nolint:gosec // jitter, not a secret
}
