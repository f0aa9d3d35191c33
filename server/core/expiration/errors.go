package expiration

import (
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Sentinel errors of the manager. Errors meant for clients wrap a
// logical sentinel, so that server/api maps them to a status code.
var (
	// ErrNotActive is returned by every operation while the manager is
	// not running (before Start, after Stop): the node is not active.
	ErrNotActive = fmt.Errorf("expiration: manager not running: %w", logical.ErrUnavailable)
	// ErrInvalidLease is returned by Register for a lease the caller
	// built wrongly (a server-side bug, hence no client status).
	ErrInvalidLease = errors.New("expiration: invalid lease")
	// ErrCorrupt marks a stored record that does not decode or names
	// another lease; Tidy removes such records.
	ErrCorrupt = errors.New("expiration: corrupt record")
)

// QuotaError is returned by Register when the lease-count quota that
// governs the lease's path is full. It matches logical.ErrRateLimited
// (429) with errors.Is, and its text names the quota.
type QuotaError struct {
	// Name, Path and MaxLeases describe the full quota.
	Name      string
	Path      string
	MaxLeases int
}

// Error implements error. It starts with logical.ErrRateLimited's text.
func (e *QuotaError) Error() string {
	scope := "global"
	if e.Path != "" {
		scope = fmt.Sprintf("path %q", e.Path)
	}
	return fmt.Sprintf("%s: lease count quota %q (%s) reached its maximum of %d leases",
		logical.ErrRateLimited, e.Name, scope, e.MaxLeases)
}

// Is makes errors.Is(err, logical.ErrRateLimited) true.
func (e *QuotaError) Is(target error) bool { return target == logical.ErrRateLimited }

// invalidLease wraps ErrInvalidLease with what is wrong.
func invalidLease(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidLease, fmt.Sprintf(format, args...))
}
