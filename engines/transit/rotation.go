package transit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// retryDelay is how long a key whose scheduled rotation failed waits
// before the next attempt.
const retryDelay = time.Minute

// schedule is when each auto-rotated key is next due. It is learned
// from storage by the first Periodic and kept current by every key
// write (note, forget); reset forgets it all.
type schedule struct {
	mu     sync.Mutex
	loaded bool
	due    map[string]time.Time
}

// note records p's next rotation (none: forgets it).
func (s *schedule) note(p *policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.due == nil {
		s.due = make(map[string]time.Time)
	}
	if t := p.nextRotation(); !t.IsZero() {
		s.due[p.Name] = t
	} else {
		delete(s.due, p.Name)
	}
}

func (s *schedule) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.due, name)
}

func (s *schedule) delay(name string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.due[name]; ok {
		s.due[name] = until
	}
}

func (s *schedule) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded, s.due = false, nil
}

// dueBy lists the keys due at now; loaded=false when the schedule must
// be learned first.
func (s *schedule) dueBy(now time.Time) (names []string, loaded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, t := range s.due {
		if !t.After(now) {
			names = append(names, name)
		}
	}
	return names, s.loaded
}

func (s *schedule) markLoaded() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = true
}

// learn reads every key once so that the schedule knows them all.
func (b *Backend) learn(ctx context.Context, st logical.Storage) error {
	names, err := listPolicies(ctx, st)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if k, err := b.key(ctx, st, name); err != nil {
			errs = append(errs, err)
		} else if k != nil {
			b.sched.note(k.p)
		}
	}
	// A key that cannot be read is reported, not retried every second:
	// its next write or read puts it back on the schedule.
	b.sched.markLoaded()
	return errors.Join(errs...)
}

// rotateDue rotates every key that is due.
func (b *Backend) rotateDue(ctx context.Context, st logical.Storage) error {
	names, loaded := b.sched.dueBy(b.now())
	if !loaded {
		if err := b.learn(ctx, st); err != nil {
			return err
		}
		names, _ = b.sched.dueBy(b.now())
	}
	var errs []error
	for _, name := range names {
		if err := b.autoRotate(ctx, st, name); err != nil {
			b.sched.delay(name, b.now().Add(retryDelay))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// autoRotate rotates name if it is still due once its lock is held.
func (b *Backend) autoRotate(ctx context.Context, st logical.Storage, name string) error {
	rotated := false
	_, err := b.update(ctx, st, name, func(p *policy) (*policy, error) {
		if p == nil {
			return nil, nil
		}
		if t := p.nextRotation(); t.IsZero() || t.After(b.now()) {
			return nil, nil
		}
		rotated = true
		return p, b.rotate(p)
	})
	if err != nil {
		err = fmt.Errorf("transit: auto-rotate key %q: %w", name, err)
		b.log.WarnContext(ctx, "transit: auto-rotation failed", "key", name, "error", err)
	} else if rotated {
		b.log.InfoContext(ctx, "transit: key auto-rotated", "key", name)
	}
	if b.events != nil && (rotated || err != nil) {
		b.events.RecordEvent(ctx, "rotate", b.mount+"keys/"+name+"/rotate", err)
	}
	if err == nil && !rotated {
		// Deleted or reconfigured meanwhile: resynchronise its entry.
		k, err := b.key(ctx, st, name)
		if err != nil {
			return err
		}
		if k == nil {
			b.sched.forget(name)
		} else {
			b.sched.note(k.p)
		}
	}
	return err
}
