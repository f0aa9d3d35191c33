// Package ssh is Vault's SSH secrets engine in its certificate authority
// mode: the mount holds one SSH CA key (config/ca), publishes its public
// half unauthenticated (public_key, the lines sshd's TrustedUserCAKeys
// reads; after a rotation the replaced keys still in use too), keeps
// roles (roles/:name, key_type "ca") and signs user and host
// certificates for them (sign/:role signs a client's public key;
// issue/:role generates the key pair too). Paths, field names, defaults
// and response shapes are OpenBao's builtin/logical/ssh, so Vault's CLI
// (`vault write ssh/sign/role public_key=@key.pub`) works unchanged. The
// OTP and dynamic-key modes are not implemented.
//
// One deliberate departure from Vault: a certificate is never signed with
// an empty principal list, which sshd reads as "valid for any user" (or
// any host). Without valid_principals the role's default_user is used; a
// role with neither is a 400, even when allowed_users is "*".
//
// The CA private key lives only in the mount's storage view, which core
// encrypts behind the barrier; it is never logged, never put in an error
// and never returned (config/ca answers only the public key).
//
// Powers beyond logical.Backend: logical.RouteDescriber (sign/ and issue/
// are a "generate"; config/ca needs sudo; public_key is unauthenticated)
// and logical.TTLGranter (the certificate lifetime a sign/ or issue/
// request without ttl gets, for policies bounding context.ttl),
// logical.Rotator (config/ca: a new CA key of the same type; the
// replaced public key stays published beside the new one until every
// certificate it signed has expired), logical.Periodic (drops replaced
// keys once expired) and logical.Cleaner.
//
// Every Backend method is safe for concurrent use.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the mount type of the engine.
const Type = "ssh"

// Sentinel errors of this package. Client errors are reported with
// logical's sentinels (ErrNotFound, InvalidRequest) instead.
var (
	// ErrCorrupt: a stored entry cannot be decoded (or the stored CA key
	// does not parse).
	ErrCorrupt = errors.New("ssh: corrupt storage entry")
	// ErrNoCA: no CA key is configured. It is a
	// *logical.InvalidRequestError (a 400, as Vault answers a sign
	// request on an unconfigured mount); match it with errors.Is.
	ErrNoCA error = &logical.InvalidRequestError{Message: "no CA key configured; write config/ca first"}
)

// Backend is one ssh mount.
type Backend struct {
	router *framework.Backend
	system logical.SystemView
	// storage is the mount's view, for Periodic (requests carry theirs).
	storage logical.Storage
	now     func() time.Time
	// caMu serialises config/ca writes and deletes, so that two
	// concurrent writes cannot both find the mount unconfigured.
	caMu sync.Mutex
	// parsed caches the CA signer (see caSigner).
	parsed atomic.Pointer[parsedCA]
	// retire is when Periodic next has a replaced CA key to drop.
	retire retireSchedule
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
	_ logical.TTLGranter     = (*Backend)(nil)
	_ logical.Rotator        = (*Backend)(nil)
	_ logical.Periodic       = (*Backend)(nil)
	_ logical.Cleaner        = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (certificate validity windows, CA key
// creation and rotation times, the expiry of replaced CA keys).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// Factory returns the logical.Factory of ssh mounts.
func Factory(opts ...Option) logical.Factory {
	return func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		return New(ctx, conf, opts...)
	}
}

// New builds an ssh mount. conf.System, when set, gives the mount's TTLs
// (nil: Vault's 768h default and maximum); conf.Storage is the mount's
// view, used by Periodic.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now}
	if conf != nil {
		b.system, b.storage = conf.System, conf.Storage
	}
	for _, o := range opts {
		o(b)
	}
	b.router = &framework.Backend{
		Help:  "Signs SSH user and host certificates (Vault's SSH secrets engine, CA mode).",
		Paths: b.paths(),
	}
	if err := b.router.Init(); err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathConfigCA(), b.pathPublicKey(),
		b.pathRoleList(), b.pathRole(),
		b.pathSign(), b.pathIssue(),
	}
}

// HandleRequest implements logical.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.router.HandleRequest(ctx, req)
}

// ExistenceCheck implements logical.Backend: roles/:name exists when
// stored.
func (b *Backend) ExistenceCheck(ctx context.Context, req *logical.Request) (exists, ok bool, err error) {
	return b.router.ExistenceCheck(ctx, req)
}

// RouteInfo implements logical.RouteDescriber.
func (b *Backend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	return b.router.RouteInfo(path, op)
}

// PathPatterns lists the engine's route patterns in priority order.
func (b *Backend) PathPatterns() []string { return b.router.PathPatterns() }

// RouteDocs implements framework.RouteDocs (the API reference).
func (b *Backend) RouteDocs() []framework.PathDoc { return b.router.Docs() }

// defaultMountTTL is Vault's system default and maximum lease TTL, used
// when the backend has no SystemView or the mount reports none.
const defaultMountTTL = 768 * time.Hour

// mountTTLs are the mount's default and maximum TTLs.
func (b *Backend) mountTTLs() (def, max time.Duration) {
	if b.system != nil {
		def, max = b.system.MountTTLs()
	}
	if max <= 0 {
		max = defaultMountTTL
	}
	if def <= 0 || def > max {
		def = min(defaultMountTTL, max)
	}
	return def, max
}

// signPath matches the paths GrantTTL answers for.
var signPath = regexp.MustCompile(`^(?:sign|issue)/` + roleRe + `$`)

// GrantTTL implements logical.TTLGranter: a sign/ or issue/ write
// without ttl grants its role's ttl (else the mount's default), bounded
// by the role's max_ttl and the mount's maximum. Any other request, or
// an unknown role, is ok=false.
func (b *Backend) GrantTTL(ctx context.Context, req *logical.Request) (time.Duration, bool, error) {
	if req.Operation != logical.UpdateOperation && req.Operation != logical.CreateOperation {
		return 0, false, nil
	}
	m := signPath.FindStringSubmatch(req.Path)
	if m == nil {
		return 0, false, nil
	}
	r, err := loadRole(ctx, req.Storage, m[signPath.SubexpIndex("role")])
	if err != nil || r == nil {
		return 0, false, err
	}
	ttl, err := b.certTTL(nil, r)
	if err != nil {
		return 0, false, err
	}
	return ttl, true, nil
}
