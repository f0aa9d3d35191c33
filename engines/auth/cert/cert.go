// Package cert is the TLS certificate auth method, compatible with
// Vault's cert auth HTTP API: certs/ (the trusted certificates, each a
// role), config and login under the mount (auth/cert/ by default).
//
// A login carries no credentials in its body: the client's TLS
// certificate chain, as presented on the API listener and unverified
// there (logical.Connection.PeerCertificates), is verified here against
// each role's trusted certificates (x509 path validation with the
// client-auth extended key usage at the current time), or matched
// exactly against a role's pinned leaf certificate. The first role (in
// name order, or the one named by the login's "name") whose chain
// verifies and whose name constraints the leaf meets wins. The method
// returns the identity (Alias.Name = the leaf's Subject Common Name) and
// the role's token parameters; core mints the token.
//
// Failed logins count towards the shared lockout (engines/auth/lockout),
// keyed by the role name asked for (or the presented leaf's Common Name)
// and the client address, with the mount's lockout_* options.
//
// Not implemented (Vault has them): CRLs (crls/), OCSP, allowed_metadata_
// extensions, the deprecated policies/ttl/max_ttl/period/bound_cidrs
// aliases of the token_* fields, token_type and token_explicit_max_ttl,
// and renewal binding (core renews tokens without consulting the method,
// so config reports disable_binding as true and refuses false).
package cert

import (
	"context"
	"errors"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the auth method type, as in sys/auth's "type": "cert".
const Type = "cert"

// Sentinel errors of this package.
var (
	// ErrCorrupt is returned when a stored entry cannot be decoded.
	ErrCorrupt = errors.New("cert: corrupt storage entry")
)

// Backend is one cert auth mount. It implements logical.Backend and
// logical.RouteDescriber (login is unauthenticated; certs/<name> exists
// when the role is stored); it is safe for concurrent use.
type Backend struct {
	method.Router
	now     func() time.Time
	lockout *lockout.Tracker
	trusts  *trustCache
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now: the time certificates are verified at and
// the lockout's clock (for tests).
func WithClock(now func() time.Time) Option {
	return func(b *Backend) { b.now = now }
}

// Factory is the logical.Factory for cert auth mounts.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(ctx, conf)
}

// New builds a cert auth mount. conf.Config may carry the lockout options
// (lockout_threshold, lockout_duration, lockout_counter_reset,
// lockout_disable); a bad one is a logical.ErrInvalidRequest.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now, trusts: newTrustCache()}
	for _, o := range opts {
		o(b)
	}
	var err error
	if b.Router, b.lockout, err = method.Setup(Type, "TLS client certificate authentication (Vault cert auth compatible).", conf, b.now, b.paths()); err != nil {
		return nil, err
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathLogin(),
		b.pathConfig(),
		b.pathCertsList(),
		b.pathCerts(),
	}
}
