package expiration

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// maxLastError bounds the stored text of a revocation failure.
const maxLastError = 1024

// Lease is one leased secret as the manager stores it (behind the
// barrier, as JSON; see schema.go). Values returned by the manager are
// fresh copies the caller owns. Secret.InternalData is revocation data:
// never render it to a client.
type Lease struct {
	// ID is <mount point><path>/<random>, e.g.
	// "database/creds/ro/2f0c…"; it never starts or ends with "/" and
	// has no empty segment.
	ID string
	// MountPoint is the mount that issued it, with a trailing slash
	// ("database/"); ID starts with it.
	MountPoint string
	// Path is the full request path that created it ("database/creds/ro").
	Path string
	// Secret is what the engine returned: Type and InternalData route and
	// drive renew and revoke; TTL is the duration first granted (the
	// fallback of a renewal that names no increment), MaxTTL the engine's
	// cap. The manager keeps Secret.LeaseID, IssueTime and Renewable in
	// step with the lease.
	Secret *logical.Secret
	// ClientTokenAccessor is the accessor of the token that created the
	// lease ("" for none); RevokeByToken finds the lease through it.
	ClientTokenAccessor string
	// IssueTime is when the lease was created (Register fills a zero one
	// with Config.Now); LastRenewalTime when it was last renewed.
	IssueTime       time.Time
	LastRenewalTime time.Time
	// ExpireTime is when the lease is revoked; MaxExpireTime the bound no
	// renewal passes (issue time + the role's or mount's max TTL; zero
	// means unbounded: a token's lease, whose bound the token store keeps).
	ExpireTime    time.Time
	MaxExpireTime time.Time
	// Renewable says whether Renew may extend the lease.
	Renewable bool
	// Irrevocable is set once MaxAttempts revocations have failed: the
	// lease is kept (and counted) until Revoke succeeds or a forced
	// RevokePrefix deletes it.
	Irrevocable bool
	// Attempts counts failed revocations; LastError is the last failure's
	// text (the Revoker's error, which must carry no secret material);
	// NextAttempt is when the next retry is due (zero when none is).
	Attempts    int
	LastError   string
	NextAttempt time.Time
}

// NewID returns a fresh lease id for a secret issued on path, the full
// request path ("database/creds/ro"): "<path>/<26 random base32 chars>"
// (130 bits from crypto/rand).
func NewID(path string) string {
	return strings.Trim(path, "/") + "/" + rand.Text()
}

// secretFrom builds the Secret of a stored lease.
func (l *Lease) secretFrom(typ string, internal map[string]any, ttl, maxTTL time.Duration) *logical.Secret {
	return &logical.Secret{
		LeaseID: l.ID, TTL: ttl, MaxTTL: maxTTL, Renewable: l.Renewable,
		Type: typ, InternalData: internal, IssueTime: l.IssueTime,
	}
}

// TTL is the lease's remaining duration at now (0 once expired).
func (l *Lease) TTL(now time.Time) time.Duration {
	return max(l.ExpireTime.Sub(now), 0)
}

// validateID reports whether id can name a lease.
func validateID(id string) error {
	switch {
	case id == "":
		return invalidLease("empty lease id")
	case strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/"):
		return invalidLease("lease id %q starts or ends with /", id)
	case strings.Contains(id, "//"):
		return invalidLease("lease id %q has an empty segment", id)
	}
	if err := storage.ValidateKey(leaseKey(id)); err != nil {
		return invalidLease("lease id %q: %v", id, err)
	}
	return nil
}

// prepareNew validates a lease given to Register and returns the copy to
// store, with the manager's fields reset.
func prepareNew(l *Lease, now time.Time) (*Lease, error) {
	if l == nil {
		return nil, invalidLease("nil lease")
	}
	if err := validateID(l.ID); err != nil {
		return nil, err
	}
	switch {
	case l.MountPoint == "" || !strings.HasSuffix(l.MountPoint, "/"):
		return nil, invalidLease("lease %s: mount point %q must end with /", l.ID, l.MountPoint)
	case !strings.HasPrefix(l.ID, l.MountPoint):
		return nil, invalidLease("lease %s: id does not start with its mount point %q", l.ID, l.MountPoint)
	case l.Secret == nil:
		return nil, invalidLease("lease %s: no secret", l.ID)
	case l.ExpireTime.IsZero():
		return nil, invalidLease("lease %s: no expire time", l.ID)
	case !l.MaxExpireTime.IsZero() && l.ExpireTime.After(l.MaxExpireTime):
		return nil, invalidLease("lease %s: expire time after max expire time", l.ID)
	}
	c := *l
	if c.IssueTime.IsZero() {
		c.IssueTime = now
	}
	c.Irrevocable, c.Attempts, c.LastError, c.NextAttempt = false, 0, "", time.Time{}
	s := l.Secret
	c.Secret = c.secretFrom(s.Type, s.InternalData, s.TTL, s.MaxTTL)
	return &c, nil
}

// truncateError bounds a failure's text for storage.
func truncateError(err error) string {
	s := err.Error()
	if len(s) > maxLastError {
		s = s[:maxLastError] + "…"
	}
	return s
}
