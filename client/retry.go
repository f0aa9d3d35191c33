package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryPolicy says how a call is retried. A call is retried after a
// server failure (any 5xx status but 501 Not Implemented, so 503 sealed
// or standby without a leader too) and after a connection error; never
// after a 4xx answer, nor once its context is done. Between attempts it
// waits a jittered exponential backoff: attempt n waits a random time in
// [d/2, d], d = min(MinBackoff·2^(n-1), MaxBackoff); a wait that would
// outlast the context's deadline is not started and the last failure is
// returned. Streams (raft snapshots) are never retried.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one call (1: no retry).
	MaxAttempts int
	// MinBackoff is the wait before the second attempt, MaxBackoff caps
	// the waits.
	MinBackoff, MaxBackoff time.Duration
}

// DefaultRetryPolicy is Vault's client default: 3 attempts, waits of
// 1s to 1.5s.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, MinBackoff: time.Second, MaxBackoff: 1500 * time.Millisecond}

// check refuses a policy that cannot run.
func (p RetryPolicy) check() error {
	switch {
	case p.MaxAttempts < 1:
		return invalidArg("retry policy: MaxAttempts must be at least 1")
	case p.MinBackoff < 0 || p.MaxBackoff < p.MinBackoff:
		return invalidArg("retry policy: want 0 <= MinBackoff <= MaxBackoff")
	}
	return nil
}

// run calls attempt until it succeeds, fails for good, the attempts are
// used up or ctx ends; it returns the last answer or error.
func (p RetryPolicy) run(ctx context.Context, attempt func(context.Context) (*response, error)) (*response, error) {
	for n := 1; ; n++ {
		resp, err := attempt(ctx)
		if n >= p.MaxAttempts || !retryable(ctx, resp, err) {
			return resp, err
		}
		wait := p.backoff(n)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			return resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, err
		case <-t.C:
		}
	}
}

// backoff is the jittered wait after attempt n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1) //nolint:gosec // jitter, not a secret
}

// retryable reports whether a failed attempt may be tried again.
func retryable(ctx context.Context, resp *response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		var te *transportError
		return errors.As(err, &te) && !errors.Is(err, context.Canceled)
	}
	return resp.status >= 500 && resp.status != http.StatusNotImplemented
}
