package database

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Rotation retry backoff: the first retry after retryBase, doubling up
// to retryMax.
const (
	retryBase = 10 * time.Second
	retryMax  = 10 * time.Minute
	// resyncEvery bounds how long the in-memory schedule is trusted
	// before it is reloaded from storage.
	resyncEvery = 5 * time.Minute
)

// backoff is the delay before retry n (n >= 1).
func backoff(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// nextRotation is when a role rotated at last is next due.
func (b *Backend) nextRotation(r *staticRole, last time.Time) time.Time {
	if r.RotationSchedule == "" {
		return last.Add(r.RotationPeriod)
	}
	sched, err := cron.ParseStandard(r.RotationSchedule)
	if err != nil { // validated on write; a corrupt entry retries daily
		return last.Add(24 * time.Hour)
	}
	return sched.Next(last)
}

// rotateStatic gives a static role's user a new password and stores it
// (with the role: a new role is stored by its first rotation). The
// caller holds the role's lock.
//
// The new password is stored as pending before the server is changed
// and reused until a rotation succeeds, so a rotation whose outcome is
// unknown converges on one password. A failure keeps the current
// password readable and schedules a retry with backoff.
func (b *Backend) rotateStatic(ctx context.Context, s logical.Storage, name string, r *staticRole, reason string) error {
	cfg, err := mustConfig(ctx, s, r.DBName)
	if err != nil {
		return err
	}
	pw := r.PendingPassword
	if pw == "" {
		if pw, err = b.generatePassword(ctx, cfg.PasswordPolicy); err != nil {
			return err
		}
		r.PendingPassword = pw
		if err := putJSON(ctx, s, staticRolePrefix+name, r); err != nil {
			return err
		}
	}
	err = b.conns.with(ctx, s, r.DBName, func(db dbplugin.Database) error {
		return db.UpdateUser(ctx, dbplugin.UpdateUserRequest{
			Username: r.Username,
			Password: &dbplugin.ChangePassword{NewPassword: pw, Statements: dbplugin.Statements{Commands: r.RotationStatements}},
		})
	})
	now := b.now()
	if err != nil {
		return b.rotationFailed(ctx, s, name, r, reason, now, scrub(err, pw, r.Password))
	}
	r.Password, r.PendingPassword = pw, ""
	r.LastVaultRotation, r.Failures, r.RetryAt = now, 0, time.Time{}
	r.NextRotation = b.nextRotation(r, now)
	ev := RotationEvent{Kind: "static", Name: name, DBName: r.DBName, Username: r.Username, Reason: reason}
	if err := putJSON(ctx, s, staticRolePrefix+name, r); err != nil {
		// The server has the pending password, which a retry reuses.
		b.sched.set(name, now)
		ev.Err = err
		b.rotated(ctx, ev)
		return err
	}
	b.sched.set(name, r.due())
	b.rotated(ctx, ev)
	b.log.InfoContext(ctx, "database: static role rotated", "role", name, "db_name", r.DBName,
		"username", r.Username, "reason", reason, "next_rotation", r.NextRotation)
	return nil
}

// rotationFailed records a failed rotation and schedules its retry.
func (b *Backend) rotationFailed(ctx context.Context, s logical.Storage, name string, r *staticRole, reason string, now time.Time, err error) error {
	r.Failures++
	r.RetryAt = now.Add(backoff(r.Failures))
	if perr := putJSON(ctx, s, staticRolePrefix+name, r); perr != nil {
		err = errors.Join(err, perr)
	}
	b.sched.set(name, r.due())
	b.log.WarnContext(ctx, "database: static role rotation failed", "role", name, "db_name", r.DBName,
		"username", r.Username, "reason", reason, "failures", r.Failures, "retry_at", r.RetryAt, "error", err)
	b.rotated(ctx, RotationEvent{Kind: "static", Name: name, DBName: r.DBName, Username: r.Username, Reason: reason, Err: err})
	return fmt.Errorf("database: rotate static role %q: %w", name, err)
}

// rotateDue rotates every static role due by now.
func (b *Backend) rotateDue(ctx context.Context, s logical.Storage) error {
	now := b.now()
	if err := b.sched.load(ctx, s, now); err != nil {
		return err
	}
	var errs []error
	for _, name := range b.sched.dueBy(now) {
		if ctx.Err() != nil {
			break
		}
		if err := b.rotateIfDue(ctx, s, name, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rotateIfDue rotates one role if storage agrees it is due. A scheduled
// rotation whose window has passed is skipped to the next schedule time.
func (b *Backend) rotateIfDue(ctx context.Context, s logical.Storage, name string, now time.Time) error {
	l := b.roleLocks.Of(name)
	l.Lock()
	defer l.Unlock()
	r, err := loadStaticRole(ctx, s, name)
	if err != nil {
		return err
	}
	if r == nil {
		b.sched.remove(name)
		return nil
	}
	if r.due().After(now) {
		b.sched.set(name, r.due())
		return nil
	}
	if r.Failures == 0 && r.RotationWindow > 0 && now.After(r.NextRotation.Add(r.RotationWindow)) {
		missed := r.NextRotation
		r.NextRotation = b.nextRotation(r, now)
		if err := putJSON(ctx, s, staticRolePrefix+name, r); err != nil {
			return err
		}
		b.sched.set(name, r.due())
		b.log.InfoContext(ctx, "database: static role rotation window missed", "role", name,
			"missed", missed, "next_rotation", r.NextRotation)
		return nil
	}
	return b.rotateStatic(ctx, s, name, r, "scheduled")
}

// schedule is the in-memory index of when each static role is next
// due, loaded from storage on first use (and again every resyncEvery,
// and after reset), kept current by the engine's own writes.
type schedule struct {
	mu       sync.Mutex
	loadedAt time.Time // zero: not loaded
	due      map[string]time.Time
	// touched names the roles set or removed while a load reads
	// storage: their in-memory entry wins over what the load read.
	touched map[string]struct{}
	// gen counts resets: a load that overlapped one is discarded.
	gen uint64
}

func newSchedule() *schedule { return &schedule{due: make(map[string]time.Time)} }

// load reads every static role's due time unless the index is fresh.
func (sc *schedule) load(ctx context.Context, s logical.Storage, now time.Time) error {
	sc.mu.Lock()
	fresh := !sc.loadedAt.IsZero() && now.Sub(sc.loadedAt) < resyncEvery && !now.Before(sc.loadedAt)
	sc.mu.Unlock()
	if fresh {
		return nil
	}
	sc.mu.Lock()
	sc.touched = make(map[string]struct{})
	gen := sc.gen
	sc.mu.Unlock()
	defer func() {
		sc.mu.Lock()
		sc.touched = nil
		sc.mu.Unlock()
	}()
	names, err := s.List(ctx, staticRolePrefix)
	if err != nil {
		return fmt.Errorf("database: list static roles: %w", err)
	}
	due := make(map[string]time.Time, len(names))
	for _, name := range names {
		r, err := loadStaticRole(ctx, s, name)
		if err != nil {
			return err
		}
		if r != nil {
			due[name] = r.due()
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.gen != gen {
		return nil
	}
	for name := range sc.touched {
		if t, ok := sc.due[name]; ok {
			due[name] = t
		} else {
			delete(due, name)
		}
	}
	sc.due, sc.loadedAt = due, now
	return nil
}

// dueBy lists the roles due by now, earliest first.
func (sc *schedule) dueBy(now time.Time) []string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var names []string
	for name, t := range sc.due {
		if !t.After(now) {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(sc.due[a].Compare(sc.due[b]), cmp.Compare(a, b))
	})
	return names
}

func (sc *schedule) set(name string, t time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.due[name] = t
	sc.touch(name)
}

// touch records a change made while a load runs; the caller holds mu.
func (sc *schedule) touch(name string) {
	if sc.touched != nil {
		sc.touched[name] = struct{}{}
	}
}

func (sc *schedule) remove(name string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	delete(sc.due, name)
	sc.touch(name)
}

// reset forgets the index; the next load reads storage.
func (sc *schedule) reset() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.due, sc.loadedAt = make(map[string]time.Time), time.Time{}
	sc.gen++
}
