// Package aws is Vault's AWS secrets engine: with a root access key
// (config/root, rotated by config/rotate-root) it creates IAM users with
// access keys (credential_type iam_user) or STS temporary credentials
// (assumed_role, federation_token) for roles (roles/:name), handed out
// by creds/:name and sts/:name under leases (config/lease) that the
// expiration manager renews and revokes. Paths, fields and JSON are
// Vault's, so Vault's CLI, SDKs and Terraform provider work unchanged.
//
// AWS is reached with aws-sdk-go-v2 (IAM and STS clients, endpoints
// overridable by iam_endpoint and sts_endpoint). One pair of clients is
// kept per config/root: built on first use, rebuilt when config/root is
// written or rotated, dropped by Cleanup.
//
// Powers beyond logical.Backend (found by core with type assertions):
// logical.RouteDescriber (creds/ and sts/ are a "generate",
// config/rotate-root a "rotate", config/ writes need sudo),
// logical.TTLGranter (creds/ and sts/ grant the role's TTL),
// logical.Cleaner (drops the clients), logical.Periodic (deletes the IAM
// users of creations that failed or were interrupted) and logical.Rotator (the root key
// at config/root: rotated as rotate-root does, verified by signing an
// STS GetCallerIdentity with it).
//
// The root secret key and issued secret keys live only in the mount's
// storage view (which core encrypts) and in responses; none is ever
// logged or put in an error, and the config read omits secret_key.
//
// Every Backend method is safe for concurrent use.
package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the mount type of the engine.
const Type = "aws"

// SecretAccessKeysType is the logical.Secret type of issued credentials
// (Vault's).
const SecretAccessKeysType = "access_keys"

// Sentinel errors of this package. Client errors are reported with
// logical's sentinels (ErrNotFound, InvalidRequest) instead.
var (
	// ErrCorrupt: a stored entry cannot be decoded.
	ErrCorrupt = errors.New("aws: corrupt storage entry")
	// ErrNotConfigured: config/root has not been written.
	ErrNotConfigured = errors.New("aws: no configuration found for config/root")
)

// Backend is one AWS mount.
type Backend struct {
	router *framework.Backend
	system logical.SystemView
	// storage is the mount's view, for Periodic (requests carry theirs).
	storage logical.Storage
	log     *slog.Logger
	now     func() time.Time
	http    *http.Client

	// root is held shared by every AWS call made with the root key and
	// exclusively while the key changes (config/root writes, rotations),
	// so that no call is in flight with a key being deleted.
	root sync.RWMutex
	// roleLocks serialise writes of one role name.
	roleLocks stripes
	// cmu guards cached and lastScan.
	cmu    sync.Mutex
	cached *clients
	// lastScan is when Periodic last scanned the pending-user records.
	lastScan time.Time
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
	_ logical.Cleaner        = (*Backend)(nil)
	_ logical.Rotator        = (*Backend)(nil)
	_ logical.Periodic       = (*Backend)(nil)
	_ logical.TTLGranter     = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (rotation times, lease bounds).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithLogger sets the logger credential events are reported to, never
// with a secret (default: the BackendConfig's, else slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// WithHTTPClient sets the HTTP client of the AWS clients (default: the
// SDK's).
func WithHTTPClient(c *http.Client) Option { return func(b *Backend) { b.http = c } }

// Factory returns the logical.Factory of aws mounts.
func Factory(opts ...Option) logical.Factory {
	return func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		return New(ctx, conf, opts...)
	}
}

// New builds an aws mount. conf.Storage is the mount's view, used by
// Periodic; conf.System gives the mount's TTLs (nil: 768h).
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now, log: slog.Default()}
	if conf != nil {
		b.system, b.storage = conf.System, conf.Storage
		if conf.Logger != nil {
			b.log = conf.Logger
		}
	}
	for _, o := range opts {
		o(b)
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.router = &framework.Backend{
		Help:    "Dynamic AWS access keys and STS credentials (Vault's AWS secrets engine).",
		Paths:   b.paths(),
		Secrets: []*framework.Secret{b.secretAccessKeys()},
	}
	if err := b.router.Init(); err != nil {
		return nil, fmt.Errorf("aws: %w", err)
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathConfigRoot(), b.pathConfigRotateRoot(), b.pathConfigLease(),
		b.pathRoleList(), b.pathRole(), b.pathCreds(),
	}
}

// HandleRequest implements logical.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	req, err := normalize(req)
	if err != nil {
		return nil, err
	}
	return b.router.HandleRequest(ctx, req)
}

// ExistenceCheck implements logical.Backend: roles/:name exists when
// stored.
func (b *Backend) ExistenceCheck(ctx context.Context, req *logical.Request) (exists, ok bool, err error) {
	req, err = normalize(req)
	if err != nil {
		return false, false, err
	}
	return b.router.ExistenceCheck(ctx, req)
}

// normalize returns req with a role write's tag fields in the form the
// framework takes (see kvPairs); req itself is not modified.
func normalize(req *logical.Request) (*logical.Request, error) {
	if !strings.HasPrefix(req.Path, "roles/") || req.Data == nil {
		return req, nil
	}
	data, err := kvPairs(req.Data, "iam_tags", "session_tags")
	if err != nil {
		return nil, err
	}
	r := *req
	r.Data = data
	return &r, nil
}

// RouteInfo implements logical.RouteDescriber: the paths' declared
// actions, and sudo for writes under config/ (the root key, its
// rotation, the lease bounds).
func (b *Backend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	info, ok := b.router.RouteInfo(path, op)
	if ok && strings.HasPrefix(path, "config/") {
		switch op {
		case logical.CreateOperation, logical.UpdateOperation, logical.PatchOperation, logical.DeleteOperation:
			info.Sudo = true
		}
	}
	return info, ok
}

// PathPatterns lists the engine's route patterns in priority order.
func (b *Backend) PathPatterns() []string { return b.router.PathPatterns() }

// RouteDocs implements framework.RouteDocs (the API reference).
func (b *Backend) RouteDocs() []framework.PathDoc { return b.router.Docs() }

// Cleanup implements logical.Cleaner: it drops the AWS clients (they
// hold no connection that needs closing); the next request rebuilds
// them from storage.
func (b *Backend) Cleanup(context.Context) { b.dropClients() }

// mountMaxTTL is the mount's maximum lease TTL.
func (b *Backend) mountTTLs() (def, max time.Duration) {
	def, max = 0, 768*time.Hour
	if b.system != nil {
		d, m := b.system.MountTTLs()
		if m > 0 {
			max = m
		}
		def = d
	}
	return def, max
}
