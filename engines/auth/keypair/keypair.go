// Package keypair is the Ed25519 key-pair auth method, mounted under
// auth/ (type "keypair"). An operator registers a client's Ed25519 public
// key under a name; the private key never reaches the server. To log in,
// the client asks for a nonce, signs the canonical login message with its
// private key and sends the signature. Vault has no such method; this one
// follows the shape of Vault's others (userpass, cert): named entries
// with tokenutil's token_* fields, an unauthenticated login path, and an
// Auth block that core turns into a token.
//
// # Paths
//
//	keys            LIST    names of registered keys
//	keys/:name      POST    public_key, token_* fields (create or update)
//	                GET     public_key, fingerprint, token_* fields
//	                DELETE
//	config          GET/POST nonce_ttl (default 60s), clock_skew (default 30s)
//	nonce           POST    {name} -> {nonce, expires_at}      (unauthenticated)
//	login           POST    {name, nonce, timestamp, signature} (unauthenticated)
//
// A public_key is an OpenSSH line ("ssh-ed25519 AAAA... comment"), a PEM
// "PUBLIC KEY" block (PKIX), or the raw 32-byte key in standard base64.
// Names are 1 to 64 characters of lower-case letters, digits and
// ".", "_", "@", "-", starting and ending with a letter or digit.
//
// # The canonical login message
//
// A login's signature is the Ed25519 signature (RFC 8032, pure Ed25519)
// of exactly these bytes, each line ended by a single "\n" (0x0A), no
// other whitespace, UTF-8:
//
//	secretumvault-keypair-login-v1
//	<mount path>
//	<name>
//	<nonce>
//	<timestamp>
//
// where <mount path> is the auth mount's full path as the server routes
// it, without a leading slash and with one trailing slash
// ("auth/keypair/"), so a signature is good for one mount only; <name>
// is the key name; <nonce> is the nonce string exactly as the nonce path
// returned it (43 characters of unpadded base64url); <timestamp> is the
// login's timestamp field exactly as sent (RFC 3339, e.g.
// "2025-01-02T03:04:05.123Z"). None of the fields can hold a newline, so
// the encoding is unambiguous. LoginMessage builds it; the Go SDK
// (client.KeypairLoginMessage) builds the same bytes, and both packages
// pin them with the same golden test.
//
// # Nonces
//
// A nonce is 256 random bits, bound to the name it was issued for, valid
// for nonce_ttl and for one login attempt: the login consumes it
// atomically before anything else is checked, so a replayed signature
// fails even when the replays race. At most MaxNoncesPerName nonces are
// outstanding per name and MaxNonces per mount; past those the nonce
// path answers logical.ErrRateLimited. Nonces live in memory on the
// active node (standbys forward every request to it). Keeping them in
// storage would put a replicated write on every unauthenticated request
// and need a compare-and-delete the storage contract lacks; in memory,
// single use is a mutex away, and a failover merely forgets outstanding
// nonces, which fails safe: their logins fail and clients ask again.
//
// # Login
//
// The timestamp must lie within clock_skew of the server's clock and not
// before the nonce's issue less clock_skew (the slack lets a client whose
// clock runs behind log in; while the server's clock does not step back
// the first bound implies the second, which guards the case where it
// does). Freshness rests on the nonce: it is random, so no signature can
// predate it, and it dies after nonce_ttl. A nonce for a name that is not registered is issued all
// the same, and a login for such a name fails exactly as a bad signature
// does (a signature is still verified, against a dummy key), so neither
// path tells whether a name exists. Every failed login is ErrLoginFailed
// (a logical.ErrPermissionDenied) and counts towards the shared lockout
// (engines/auth/lockout, keyed by name and client address, configured by
// the mount options lockout_threshold, lockout_duration,
// lockout_counter_reset and lockout_disable). Malformed input (a
// timestamp that is not RFC 3339, a signature that is not 64 bytes of
// base64) is a 400 that consumes nothing and counts nothing. A key's
// token_bound_cidrs are checked against the client address at login, as
// Vault's userpass does, and handed to core for the token.
//
// A successful login answers an Auth with no token: Alias.Name is the key
// name, EntityType "User", and the key's token_* fields; core mints the
// token.
package keypair

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/method"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the auth method's type name, as sys/auth/:path takes it.
const Type = "keypair"

// Sentinel errors of this package.
var (
	// ErrLoginFailed is every failed login, whatever failed: an unknown,
	// expired or used nonce, a timestamp out of range, an unknown name, a
	// bad signature, a client address outside token_bound_cidrs.
	ErrLoginFailed = fmt.Errorf("%w: invalid login", logical.ErrPermissionDenied)
	// ErrCorrupt is returned when a stored entry cannot be decoded.
	ErrCorrupt = errors.New("keypair: corrupt storage entry")
)

// Backend is one keypair auth mount. It implements logical.Backend and
// logical.RouteDescriber (nonce and login are unauthenticated; keys/:name
// exists when the key is registered); it is safe for concurrent use.
type Backend struct {
	method.Router
	now     func() time.Time
	mount   string
	lockout *lockout.Tracker
	nonces  *nonceStore
	// writeMu serialises the read-modify-write of keys and config
	// (administrative writes, which are rare).
	writeMu sync.Mutex
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
	_ logical.Factory        = Factory
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (tests of nonce expiry and clock skew).
func WithClock(now func() time.Time) Option {
	return func(b *Backend) { b.now = now }
}

// Factory is the logical.Factory of keypair mounts.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(ctx, conf)
}

// New builds a keypair mount. conf.Config holds the lockout options;
// a bad one is a logical.ErrInvalidRequest.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now, nonces: newNonceStore()}
	if conf != nil {
		b.mount = conf.MountPoint
	}
	for _, o := range opts {
		o(b)
	}
	var err error
	if b.Router, b.lockout, err = method.Setup(Type, "Ed25519 key-pair logins: a signature over a server nonce.", conf, b.now, b.paths()); err != nil {
		return nil, err
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathKeysList(),
		b.pathKey(),
		b.pathConfig(),
		b.pathNonce(),
		b.pathLogin(),
	}
}

// mountPath is the mount a request came through: the router's, else the
// one the mount was built with.
func (b *Backend) mountPath(req *logical.Request) string {
	if req.MountPoint != "" {
		return req.MountPoint
	}
	return b.mount
}
