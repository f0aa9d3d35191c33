package expiration

import (
	"context"
	"math/rand/v2"
	"time"
)

// schedule is the period's one scheduler goroutine: it hands every due
// entry of x's queue to a worker, and otherwise sleeps until the head is
// due, a poke says the head moved, or PollInterval passes.
func (m *Manager) schedule(p *period, x *index) {
	defer p.wg.Done()
	timer := time.NewTimer(m.cfg.PollInterval)
	defer timer.Stop()
	for {
		m.mu.Lock()
		e, wait := x.popDue(m.cfg.Now())
		m.mu.Unlock()
		if e != nil {
			select {
			case p.work <- e:
				continue
			case <-p.ctx.Done():
				return
			}
		}
		if wait < 0 || wait > m.cfg.PollInterval {
			wait = m.cfg.PollInterval
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-p.wake:
		case <-p.ctx.Done():
			return
		}
	}
}

// work is one revocation worker of the period.
func (m *Manager) work(p *period, x *index) {
	defer p.wg.Done()
	for {
		select {
		case e := <-p.work:
			m.expire(p, x, e)
		case <-p.ctx.Done():
			return
		}
	}
}

// expire makes one revocation attempt of a due entry, under the lease's
// stripe lock, and settles the entry: deleted, requeued (renewed
// meanwhile, storage error, retry) or irrevocable.
func (m *Manager) expire(p *period, x *index, e *entry) {
	defer m.locks.lock(e.id)()
	if p.ctx.Err() != nil {
		return
	}
	l, err := m.read(p.ctx, e.id)
	switch {
	case p.ctx.Err() != nil:
		return
	case err != nil:
		m.cfg.Logger.Error("expiration: cannot read a due lease; retrying", "lease_id", e.id, "error", err)
		m.settle(p, x, e, func() { x.schedule(e, m.cfg.Now().Add(m.cfg.BaseBackoff)) })
		return
	case l == nil:
		m.settle(p, x, e, func() { x.remove(e) })
		return
	case l.Irrevocable:
		m.settle(p, x, e, func() { x.install(e, l) })
		return
	case dueTime(l).After(m.cfg.Now()): // renewed meanwhile
		m.settle(p, x, e, func() { x.install(e, l) })
		return
	}
	m.attempt(p, x, e, l)
}

// attempt calls the Revoker for expired lease l and records the outcome.
func (m *Manager) attempt(p *period, x *index, e *entry, l *Lease) {
	rctx, cancel := context.WithTimeout(p.ctx, m.cfg.RevokeTimeout)
	err := m.cfg.Revoker.RevokeLease(withRevoking(rctx, l.ID), l)
	cancel()
	if err == nil {
		if err = m.remove(p.ctx, l); err == nil {
			m.cfg.Logger.Debug("expiration: lease revoked at expiry", "lease_id", l.ID)
			m.settle(p, x, e, func() { x.remove(e) })
			return
		}
	}
	if p.ctx.Err() != nil {
		return // stopped: not a failure; the next active node retries
	}
	now := m.cfg.Now()
	l.Attempts++
	l.LastError = truncateError(err)
	if l.Attempts >= m.cfg.MaxAttempts {
		l.Irrevocable, l.NextAttempt = true, time.Time{}
		m.cfg.Logger.Error("expiration: lease is irrevocable: revocation failed too often",
			"lease_id", l.ID, "mount", l.MountPoint, "attempts", l.Attempts, "error", l.LastError)
	} else {
		l.NextAttempt = now.Add(m.backoff(l.Attempts))
		m.cfg.Logger.Warn("expiration: revocation failed; retrying",
			"lease_id", l.ID, "attempts", l.Attempts, "next_attempt", l.NextAttempt, "error", l.LastError)
	}
	if werr := m.write(p.ctx, l); werr != nil && p.ctx.Err() == nil {
		m.cfg.Logger.Error("expiration: cannot record a failed revocation", "lease_id", l.ID, "error", werr)
	}
	m.settle(p, x, e, func() { x.install(e, l) })
}

// settle runs fn on x for e, which a worker owns, if e is still indexed
// (a synchronous Revoke may have forgotten it), and wakes the scheduler.
func (m *Manager) settle(p *period, x *index, e *entry, fn func()) {
	m.mu.Lock()
	if x.leases[e.id] == e {
		if e.state == stateRevoking {
			e.state = stateUnloaded // let install/schedule take it
		}
		fn()
	}
	m.mu.Unlock()
	p.poke()
}

// backoff is the delay before retry n (n >= 1): BaseBackoff doubled per
// earlier failure, capped at MaxBackoff, less up to 20% jitter so that
// leases that failed together do not retry together.
func (m *Manager) backoff(n int) time.Duration {
	d := m.cfg.BaseBackoff
	for i := 1; i < n && d < m.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, m.cfg.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}
