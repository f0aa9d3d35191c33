// Package approle is the AppRole auth method, compatible with Vault's
// HTTP API under auth/<mount>/: role/, role/<name>/role-id,
// role/<name>/secret-id (and its lookup, destroy and accessor variants),
// role/<name>/custom-secret-id, tidy/secret-id and the unauthenticated
// login.
//
// A machine logs in with a role_id (an identifier, readable by operators)
// and, when the role has bind_secret_id, a secret_id (a credential). The
// method never mints a token: a login answers a logical.Auth naming the
// alias (Name = role_id, EntityName = role name, entity type "Service")
// and the token the role grants; core mints it.
//
// Secret ids are never stored: only HMAC-SHA256 under a random per-mount
// key (the salt entry), so a copy of the storage cannot be replayed as a
// login. A use-limited secret id is checked and consumed under a per-id
// lock, so concurrent logins never overspend it (the cluster forwards
// every request to the active node, so an in-process lock is enough).
//
// Failed logins are errors wrapping logical.ErrPermissionDenied with one
// message whatever failed (ErrInvalidCredentials), and count towards the
// shared lockout (engines/auth/lockout) of the role and client address.
package approle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the auth method type of this package, as in sys/auth.
const Type = "approle"

// Sentinel errors of this package.
var (
	// ErrInvalidCredentials is every failed login's error (a 403): an
	// unknown role_id, a wrong, expired or used-up secret_id and a client
	// address outside the role's or secret id's CIDRs alike, in Vault's
	// words.
	ErrInvalidCredentials = fmt.Errorf("%w: invalid role or secret ID", logical.ErrPermissionDenied)
	// ErrCorrupt is returned when a stored entry cannot be decoded.
	ErrCorrupt = errors.New("approle: corrupt storage entry")
)

// maxInputLength bounds role names and secret ids (Vault's limit).
const maxInputLength = 4096

// lockStripes is the number of role and secret id locks.
const lockStripes = 256

// Backend is one approle mount. It implements logical.Backend and
// logical.RouteDescriber (login is unauthenticated; role/<name> exists
// when the role does); it is safe for concurrent use.
type Backend struct {
	method.Router
	lockout *lockout.Tracker
	now     func() time.Time
	log     *slog.Logger
	keys    saltCache

	roleLocks   [lockStripes]rwStripe
	secretLocks [lockStripes]mutexStripe
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (secret id expiry and the lockout clock).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithLogger sets the logger failed logins are reported to (never with
// a credential). The default discards.
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// Factory is the logical.Factory of approle mounts.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(ctx, conf)
}

// New builds an approle mount. The mount's options (conf.Config) carry
// the lockout settings (lockout_threshold, lockout_duration,
// lockout_counter_reset, lockout_disable); a bad one is an error
// wrapping logical.ErrInvalidRequest.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now, log: method.DiscardLogger()}
	for _, o := range opts {
		o(b)
	}
	help := "AppRole auth method (Vault compatible): machines log in with a role_id and a secret_id."
	var err error
	if b.Router, b.lockout, err = method.Setup(Type, help, conf, b.now, b.paths()); err != nil {
		return nil, err
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathLogin(),
		b.pathTidy(),
		b.pathRoleList(),
		b.pathRoleID(),
		b.pathSecretIDLookup(),
		b.pathSecretIDDestroy(),
		b.pathAccessorLookup(),
		b.pathAccessorDestroy(),
		b.pathSecretID(),
		b.pathCustomSecretID(),
		b.pathRole(),
	}
}
