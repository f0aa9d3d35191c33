package membership

import (
	"context"
	"time"
)

// JoinAttempt is one join attempt of RetryJoin, made by the core (which
// takes its state lock and installs the pending join). done reports that
// there is nothing left to do: the node obtained a challenge, or it has
// state already.
type JoinAttempt func(ctx context.Context, p *JoinParams) (done bool, err error)

// RetryJoin asks each leader in turn, every Options.RetryJoinInterval for
// at most Options.RetryJoinTimeout or until ctx ends, until an attempt is
// done. vaultd runs it for retry_join blocks; the join API's retry=true
// runs it for one leader. Only one loop runs at a time, however often it
// is called: while one runs, RetryJoin returns ErrRetryJoinRunning at once
// (the running loop keeps its own leaders).
func (m *Membership) RetryJoin(ctx context.Context, leaders []*JoinParams, attempt JoinAttempt) error {
	if len(leaders) == 0 {
		return nil
	}
	if !m.retrying.CompareAndSwap(false, true) {
		m.logger.Info("membership: a join retry loop is already running; not starting another")
		return ErrRetryJoinRunning
	}
	defer m.retrying.Store(false)
	ctx, cancel := context.WithTimeout(ctx, m.opts.RetryJoinTimeout)
	defer cancel()
	for i := 0; ; i++ {
		p := leaders[i%len(leaders)]
		done, err := attempt(ctx, p)
		if done {
			return nil
		}
		m.logger.Debug("membership: join attempt failed; retrying", "leader", p.LeaderAPIAddr, "error", err)
		select {
		case <-ctx.Done():
			m.logger.Warn("membership: gave up joining", "leaders", len(leaders))
			return ctx.Err()
		case <-time.After(m.opts.RetryJoinInterval):
		}
	}
}
