// Package kv is the versioned key/value secret engine, compatible with
// Vault's KV version 2 HTTP API: config, data/, metadata/, delete/,
// undelete/, destroy/ and subkeys/ under the mount. It is a
// logical.Rotator: a rotation policy can rotate its secrets (see
// rotation.go for the custom_metadata that says how).
//
// Versions are immutable. Each key has one metadata entry (its versions'
// timestamps and flags, never their data) and one storage entry per
// version, so reading a version decrypts exactly two values whatever the
// number of versions. Every write of data and metadata is one storage
// transaction, and writes to the same key are serialised by striped,
// in-process locks (enough, since the cluster forwards every request to
// the active node).
//
// Errors: missing keys, versions and empty lists are logical.ErrNotFound;
// a soft-deleted or destroyed version is a *VersionDeletedError (which
// matches logical.ErrNotFound and carries the metadata Vault returns with
// its 404); bad input is a *logical.InvalidRequestError.
package kv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Sentinel errors of this package.
var (
	// ErrUnsupportedVersion is returned by Factory for a mount whose
	// "version" option is neither empty nor "2".
	ErrUnsupportedVersion = errors.New("kv: unsupported kv version (only 2 is implemented)")
	// ErrCorrupt is returned when a stored entry cannot be decoded.
	ErrCorrupt = errors.New("kv: corrupt storage entry")
	// ErrNoRotationSpec: Rotate on a secret whose custom_metadata says
	// not how to make new values.
	// It wraps logical.ErrInvalidRequest (a rotation by hand is a 400).
	ErrNoRotationSpec = fmt.Errorf("kv: no rotation spec in custom_metadata (set rotate_length/rotate_charset, password_policy or rotate_webhook): %w", logical.ErrInvalidRequest)
	// ErrBadRotationSpec: the secret's rotation spec is unusable (the
	// error names the custom_metadata key).
	ErrBadRotationSpec = fmt.Errorf("kv: invalid rotation spec in custom_metadata: %w", logical.ErrInvalidRequest)
	// ErrWebhook: a rotate_webhook call failed or answered unusable data.
	ErrWebhook = errors.New("kv: rotation webhook failed")
	// ErrNothingToRotate: the secret's current version has no keys.
	ErrNothingToRotate = fmt.Errorf("kv: the current version has no keys to rotate: %w", logical.ErrInvalidRequest)
)

// DefaultMaxVersions is the number of versions kept per key when neither
// the key nor the mount sets max_versions. It is what config and metadata
// reads report in that case.
const DefaultMaxVersions = 10

// lockStripes is the number of per-key write locks (keys hash onto them).
const lockStripes = 256

// Backend is one kv mount. It implements logical.Backend.
type Backend struct {
	router *framework.Backend
	now    func() time.Time
	locks  [lockStripes]sync.RWMutex
	// mount is the mount path and system core's services, for rotations
	// (rotation.go); webhook calls rotate_webhook URLs.
	mount   string
	system  logical.SystemView
	webhook *http.Client
}

var (
	_ logical.Backend = (*Backend)(nil)
	_ logical.Rotator = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (for tests of delete_version_after).
func WithClock(now func() time.Time) Option {
	return func(b *Backend) { b.now = now }
}

// WithWebhookClient replaces the HTTP client that calls rotate_webhook
// URLs (default: a 10 s timeout and no redirects followed).
func WithWebhookClient(c *http.Client) Option {
	return func(b *Backend) { b.webhook = c }
}

// Factory is the logical.Factory for kv mounts.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return New(ctx, conf)
}

// New builds a kv mount. conf.Config["version"] must be "" or "2".
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	if conf != nil {
		if v := conf.Config["version"]; v != "" && v != "2" {
			return nil, fmt.Errorf("%w: version %q", ErrUnsupportedVersion, v)
		}
	}
	b := &Backend{now: time.Now, webhook: defaultWebhookClient()}
	if conf != nil {
		b.mount, b.system = conf.MountPoint, conf.System
	}
	for _, o := range opts {
		o(b)
	}
	b.router = &framework.Backend{
		Help:  "Versioned key/value secrets (Vault KV v2 compatible).",
		Paths: b.paths(),
	}
	if err := b.router.Init(); err != nil {
		return nil, fmt.Errorf("kv: %w", err)
	}
	return b, nil
}

// HandleRequest implements logical.Backend. It is safe for concurrent use.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.router.HandleRequest(ctx, req)
}

// RouteInfo implements logical.RouteDescriber with the routes' declared
// data.
func (b *Backend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	return b.router.RouteInfo(path, op)
}

// PathPatterns lists the engine's route patterns, most specific first.
func (b *Backend) PathPatterns() []string { return b.router.PathPatterns() }

// RouteDocs implements framework.RouteDocs (the API reference).
func (b *Backend) RouteDocs() []framework.PathDoc { return b.router.Docs() }

// ExistenceCheck implements logical.Backend: data/<path> and
// metadata/<path> exist when the key has metadata.
func (b *Backend) ExistenceCheck(ctx context.Context, req *logical.Request) (exists, ok bool, err error) {
	return b.router.ExistenceCheck(ctx, req)
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathConfig(),
		b.pathData(),
		b.pathMetadata(),
		b.pathSubkeys(),
		b.pathVersions("delete", b.handleDeleteVersions),
		b.pathVersions("undelete", b.handleUndeleteVersions),
		b.pathVersions("destroy", b.handleDestroyVersions),
	}
}

// VersionDeletedError reports that the requested version of a key is
// soft-deleted or destroyed. errors.Is(err, logical.ErrNotFound) is true.
//
// Vault answers such a read with status 404 and the body
// {"data": {"data": null, "metadata": {...}}}; ResponseData returns that
// inner object so the API layer can render it (it may find the method by
// asserting interface{ ResponseData() map[string]any } with errors.As,
// without importing this package).
type VersionDeletedError struct {
	// Path is the key, relative to the mount's data/.
	Path string
	// Version is the version that was asked for.
	Version int
	// Metadata is the version's metadata as a read would report it.
	Metadata map[string]any
}

// Error implements error.
func (e *VersionDeletedError) Error() string {
	return fmt.Sprintf("kv: version %d of %q is deleted or destroyed", e.Version, e.Path)
}

// Is makes errors.Is(err, logical.ErrNotFound) true.
func (e *VersionDeletedError) Is(target error) bool { return target == logical.ErrNotFound }

// ResponseData is the "data" object Vault returns with its 404.
func (e *VersionDeletedError) ResponseData() map[string]any {
	return map[string]any{"data": nil, "metadata": e.Metadata}
}
