// Package jwt is the JWT auth method, compatible with Vault's jwt auth
// method for signed JWTs (role_type "jwt"): config, role/ and login under
// the mount. The browser OIDC flow (role_type "oidc", oidc_client_id,
// auth_url, callback) is not implemented and is refused with a 400.
//
// A login presents a JWT and a role. The token's signature is verified
// with the mount's one key source: the static PEM keys of
// jwt_validation_pubkeys, the JWKS at jwks_url, or the JWKS an OIDC
// discovery document (oidc_discovery_url) names. Remote key sets are
// cached, refreshed at most once per MinKeyRefresh when a token names an
// unknown key id, and re-read when older than MaxKeyAge. Only the
// asymmetric algorithms of jwt_supported_algs are accepted (never "none",
// never HMAC). Then the registered claims are checked as Vault checks
// them (issuer, subject, audience, exp/nbf/iat with the role's leeways),
// the role's bound_claims are matched, and the login answers a
// logical.Auth carrying the user_claim as its alias, the groups_claim as
// external group names and the claim_mappings as metadata; core mints the
// token.
//
// Errors: request-shape problems (no role, no jwt, unknown role, a
// refused role_type) are *logical.InvalidRequestError (400) with Vault's
// messages; a token that fails verification is logical.ErrPermissionDenied
// (403), and counts toward the mount's login lockout (engines/auth/lockout,
// keyed by role and client address). No error or message carries the
// token, a claim value or key material.
package jwt

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the mount type of this auth method ("vault auth enable jwt").
const Type = "jwt"

// TypeOIDC is the other mount type Vault users enable the same method
// under ("vault auth enable oidc"); Factory serves both.
const TypeOIDC = "oidc"

// Defaults of the key cache of a JWKS or discovery key source.
const (
	// MinKeyRefresh is the shortest interval between two fetches of a
	// remote key set prompted by unknown key ids, so that tokens with
	// made-up kids cannot make the server hammer the issuer.
	MinKeyRefresh = 10 * time.Second
	// MaxKeyAge is how long fetched keys are used before the next login
	// re-reads the key set (keys the issuer withdrew stop working then).
	MaxKeyAge = time.Hour
)

// Sentinel errors of this package.
var (
	// ErrCorrupt is returned when a stored config or role does not decode.
	ErrCorrupt = errors.New("jwt: corrupt storage entry")
)

// Backend is one jwt auth mount. It implements logical.Backend and
// logical.RouteDescriber (login is unauthenticated; role/<name> exists
// when the role is stored); HandleRequest is safe for concurrent use.
type Backend struct {
	method.Router
	now  func() time.Time
	lock *lockout.Tracker

	minRefresh time.Duration
	maxAge     time.Duration

	// mu guards verifier, the key source built from the stored config
	// whose fingerprint it carries (rebuilt when the config changes,
	// whichever node wrote it).
	mu       sync.Mutex
	verifier *verifier
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now for claim validation, the key cache and
// the lockout (tests).
func WithClock(now func() time.Time) Option {
	return func(b *Backend) { b.now = now }
}

// WithKeyCache replaces MinKeyRefresh and MaxKeyAge.
func WithKeyCache(minRefresh, maxAge time.Duration) Option {
	return func(b *Backend) { b.minRefresh, b.maxAge = minRefresh, maxAge }
}

// Factory is the logical.Factory of jwt (and oidc) auth mounts.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(ctx, conf)
}

// New builds a jwt auth mount. The mount options (conf.Config) may carry
// the lockout settings of engines/auth/lockout; a bad one is an error
// wrapping logical.ErrInvalidRequest.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now, minRefresh: MinKeyRefresh, maxAge: MaxKeyAge}
	for _, o := range opts {
		o(b)
	}
	var err error
	if b.Router, b.lock, err = method.Setup(Type, "Authenticates signed JWTs (Vault jwt auth method compatible).", conf, b.now, b.paths()); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathConfig(),
		b.pathRoleList(),
		b.pathRole(),
		b.pathLogin(),
	}
}
