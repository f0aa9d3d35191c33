// Package transit is Vault's transit secrets engine: encryption as a
// service. Named keys (keys/:name) of type aes256-gcm96,
// chacha20-poly1305, rsa-2048/4096 (encryption and signing), ed25519 and
// ecdsa-p256 (signing) are created, rotated (keys/:name/rotate, or on a
// schedule by auto_rotate_period), configured and deleted; data is
// encrypted, decrypted and rewrapped (encrypt/, decrypt/, rewrap/), data
// keys generated (datakey/), messages signed and verified (sign/,
// verify/), HMAC'd (hmac/), and random bytes and hashes computed
// (random/, hash/). Paths, fields, response shapes and the ciphertext
// format vault:v<N>:<base64> are Vault's, so applications written for
// Vault keep working and Vault's ciphertexts stay readable.
//
// Key material lives only in the mount's storage view, which core
// encrypts behind the barrier. It is never logged, never put in an error
// and only returned by export/ for keys created exportable.
//
// Decoded keys (parsed private keys, one cipher.AEAD per version) are
// cached in memory; every write of a key replaces its cache entry under
// the key's lock, and Cleanup drops the cache.
//
// Powers beyond logical.Backend (found by core with type assertions):
// logical.RouteDescriber (datakey/ is a "generate", keys/:name/rotate a
// "rotate", decrypt/ and verify/ a "read"), logical.Periodic (rotates the
// keys whose auto_rotate_period elapsed), logical.Cleaner and
// logical.Rotator (every key is a rotation target keys/<name>).
//
// Every Backend method is safe for concurrent use.
package transit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the mount type of the engine.
const Type = "transit"

// Sentinel errors of this package. Client errors are reported with
// logical's sentinels (ErrNotFound, InvalidRequest) instead.
var (
	// ErrCorrupt: a stored key cannot be decoded.
	ErrCorrupt = errors.New("transit: corrupt storage entry")
	// ErrInternal: a cryptographic operation failed for a reason other
	// than the request (a broken random source).
	ErrInternal = errors.New("transit: internal error")
)

// Backend is one transit mount.
type Backend struct {
	router *framework.Backend
	// storage is the mount's view, for Periodic (requests carry theirs).
	storage logical.Storage
	mount   string
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	events  logical.EventRecorder

	// locks serialise writes of one key name, and cache fills with them.
	locks stripes
	cache keyCache
	sched schedule
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
	_ logical.Cleaner        = (*Backend)(nil)
	_ logical.Periodic       = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (key creation times, auto-rotation).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithLogger sets the logger auto-rotations are reported to, never with
// key material (default: the BackendConfig's, else slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// Factory returns the logical.Factory of transit mounts.
func Factory(opts ...Option) logical.Factory {
	return func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		return New(ctx, conf, opts...)
	}
}

// New builds a transit mount. conf.Storage is the mount's view, used by
// Periodic; a conf.System that is a logical.EventRecorder is told of
// every scheduled rotation.
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now, rand: rand.Reader, log: slog.Default()}
	if conf != nil {
		b.storage, b.mount = conf.Storage, conf.MountPoint
		if conf.Logger != nil {
			b.log = conf.Logger
		}
		if rec, ok := conf.System.(logical.EventRecorder); ok {
			b.events = rec
		}
	}
	for _, o := range opts {
		o(b)
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.cache.init()
	b.router = &framework.Backend{
		Help:  "Encryption as a service (Vault's transit secrets engine).",
		Paths: b.paths(),
	}
	if err := b.router.Init(); err != nil {
		return nil, fmt.Errorf("transit: %w", err)
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathKeyList(), b.pathKeyRotate(), b.pathKeyConfig(), b.pathKeyTrim(), b.pathKey(),
		b.pathExport(),
		b.pathEncrypt(), b.pathDecrypt(), b.pathRewrap(), b.pathDatakey(),
		b.pathSign(), b.pathVerify(), b.pathHMAC(),
		b.pathRandom(), b.pathHash(),
	}
}

// HandleRequest implements logical.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.router.HandleRequest(ctx, req)
}

// ExistenceCheck implements logical.Backend: keys/:name and
// encrypt/:name exist when the key is stored (an encrypt that is a
// create makes the key, as Vault's upsert does).
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

// Cleanup implements logical.Cleaner: it drops the decoded keys and the
// rotation schedule (both are rebuilt from storage on demand). Core
// calls it when the mount is disabled and when the node stops being
// active.
func (b *Backend) Cleanup(context.Context) {
	b.cache.reset()
	b.sched.reset()
}

// Periodic implements logical.Periodic: it rotates every key whose
// auto_rotate_period has elapsed since its latest version was created.
// The first call reads every key once to learn the schedule; later
// calls only look at the in-memory schedule, which key writes keep
// current. The error joins the failed rotations' errors (no key
// material in them); a failed key is retried a minute later.
func (b *Backend) Periodic(ctx context.Context) error {
	if b.storage == nil {
		return nil
	}
	return b.rotateDue(ctx, b.storage)
}
