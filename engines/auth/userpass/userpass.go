// Package userpass is the username & password auth method, compatible
// with Vault's HTTP API under auth/<mount>/: users/, users/<name>,
// users/<name>/password, users/<name>/policies and the unauthenticated
// login/<name>.
//
// Passwords are stored only as argon2id hashes in PHC form, each with
// its own cost parameters (see DefaultArgon2Params), and compared in
// constant time. A login for an unknown user verifies the password
// against a dummy hash of the current parameters, so that neither the
// answer nor its timing tells whether the user exists. Usernames are
// lower-cased, as in Vault.
//
// The method never mints a token: a login answers a logical.Auth naming
// the alias (the username, entity type "User") and the token the user's
// token_* settings grant; core mints it. Failed logins are
// ErrInvalidCredentials (a 403) and count towards the shared lockout
// (engines/auth/lockout) of the username and client address.
package userpass

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"golang.org/x/crypto/argon2"
)

// Type is the auth method type of this package, as in sys/auth.
const Type = "userpass"

// EntityType is the Cedar type of the entities userpass logins create.
const EntityType = "User"

// Sentinel errors of this package.
var (
	// ErrInvalidCredentials is every failed login's error (a 403),
	// whether the user is unknown, the password wrong or the client
	// address outside the user's token_bound_cidrs, in Vault's words.
	ErrInvalidCredentials = fmt.Errorf("%w: invalid username or password", logical.ErrPermissionDenied)
	// ErrCorrupt is returned when a stored entry or hash cannot be decoded.
	ErrCorrupt = errors.New("userpass: corrupt storage entry")
	// ErrBadParams is returned by New for argon2 parameters out of bounds.
	ErrBadParams = errors.New("userpass: bad argon2 parameters")
)

// lockStripes is the number of per-user write locks.
const lockStripes = 64

// Backend is one userpass mount. It implements logical.Backend and
// logical.RouteDescriber (login/<name> is unauthenticated; users/<name>
// exists when the user does); it is safe for concurrent use.
type Backend struct {
	method.Router
	lockout *lockout.Tracker
	now     func() time.Time
	log     *slog.Logger
	params  Argon2Params
	kdf     kdf
	// hashSlots bounds concurrent argon2 computations (two per core).
	hashSlots chan struct{}

	// dummy is a hash of a random password under params, verified in
	// place of a user's when there is none.
	dummy string

	locks [lockStripes]sync.Mutex
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (the lockout clock).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithLogger sets the logger failed logins are reported to (never with
// a password). The default discards.
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// WithArgon2Params sets the cost of new password hashes (default
// DefaultArgon2Params). Existing hashes keep theirs until the user's
// next login.
func WithArgon2Params(p Argon2Params) Option { return func(b *Backend) { b.params = p } }

// Factory is the logical.Factory of userpass mounts.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(ctx, conf)
}

// New builds a userpass mount. The mount's options (conf.Config) carry
// the lockout settings (lockout_threshold, lockout_duration,
// lockout_counter_reset, lockout_disable); a bad one is an error
// wrapping logical.ErrInvalidRequest, bad argon2 parameters ErrBadParams.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{
		now: time.Now, log: method.DiscardLogger(),
		params: DefaultArgon2Params(), kdf: argon2.IDKey,
		hashSlots: make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}
	for _, o := range opts {
		o(b)
	}
	if err := b.params.Validate(); err != nil {
		return nil, err
	}
	pw, err := logical.NewUUID()
	if err != nil {
		return nil, fmt.Errorf("userpass: %w", err)
	}
	if b.dummy, err = b.hashPassword(context.Background(), pw, b.params); err != nil {
		return nil, err
	}
	if b.Router, b.lockout, err = method.Setup(Type, "Username & password auth method (Vault compatible).", conf, b.now, b.paths()); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathLogin(),
		b.pathUsersList(),
		b.pathUserPassword(),
		b.pathUserPolicies(),
		b.pathUser(),
	}
}

// userLock is the write lock of a (lower-cased) username.
func (b *Backend) userLock(name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(name))
	return &b.locks[h.Sum32()%lockStripes]
}
