// Package pki is Vault's PKI secrets engine: it keeps one or more CA
// issuers per mount (root/generate, intermediate/generate +
// root/sign-intermediate + intermediate/set-signed, root/rotate),
// issues and signs leaf certificates for roles (roles/:name,
// issue/:role, sign/:role, sign-verbatim), revokes them (revoke, or a
// lease's end when the role has generate_lease) and publishes what
// relying parties need: CA certificates (ca, ca/pem, ca_chain,
// issuer/:ref/pem|der), CRLs (crl, crl/pem, rebuilt on revoke and by
// Periodic before they lapse) and an RFC 6960 OCSP responder (ocsp).
// Paths, field names and response shapes are OpenBao's
// builtin/logical/pki, so Vault's CLI, SDKs, cert-manager and Terraform
// work unchanged.
//
// Powers beyond logical.Backend (found by core with type assertions):
// logical.RouteDescriber (issue/sign/root generation are "generate",
// revoke is "revoke", config/, root/ and intermediate/ writes need sudo,
// the CA, CRL and OCSP endpoints are unauthenticated) and
// logical.Periodic (rebuilds CRLs that are due) and logical.Rotator
// (issuer/default, when it is a root this mount holds the key of).
//
// Issuer private keys live only in the mount's storage view, which core
// encrypts behind the barrier; they are returned once, by the
// */exported generation endpoints, and never logged or put in an error.
//
// Every Backend method is safe for concurrent use.
package pki

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the mount type of the engine.
const Type = "pki"

// SecretCertsType is the logical.Secret type of leased certificates.
const SecretCertsType = "pki"

// Sentinel errors of this package. Client errors are reported with
// logical's sentinels (ErrNotFound, InvalidRequest) instead.
var (
	// ErrCorrupt: a stored entry cannot be decoded.
	ErrCorrupt = errors.New("pki: corrupt storage entry")
	// ErrNoKey: an issuer's key is missing from storage.
	ErrNoKey = errors.New("pki: issuer key not found")
	// ErrDefaultChanged: the default issuer changed while a rotation
	// prepared its successor; nothing was written (retry).
	ErrDefaultChanged = errors.New("pki: the default issuer changed during the rotation")
)

// Backend is one PKI mount.
type Backend struct {
	router  *framework.Backend
	system  logical.SystemView
	storage logical.Storage
	now     func() time.Time
	log     *slog.Logger

	// mu serialises writes to the issuer set, the revocation list and
	// the CRLs (one mount, one writer at a time).
	mu      sync.Mutex
	signers signerCache
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
	_ logical.Periodic       = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (validity periods, CRL and OCSP times,
// tidy's notion of expiry).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithLogger sets the logger CRL rebuilds and tidies are reported to
// (default: conf.Logger, else discard). No key is ever logged.
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// Factory returns the logical.Factory of pki mounts.
func Factory(opts ...Option) logical.Factory {
	return func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		return New(ctx, conf, opts...)
	}
}

// New builds a pki mount. conf.Storage is the mount's view, used by
// Periodic; conf.System gives the mount's TTLs (nil: Vault's 768h).
func New(_ context.Context, conf *logical.BackendConfig, opts ...Option) (*Backend, error) {
	b := &Backend{now: time.Now}
	if conf != nil {
		b.system, b.storage, b.log = conf.System, conf.Storage, conf.Logger
	}
	for _, o := range opts {
		o(b)
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.signers.init()
	b.router = &framework.Backend{
		Help:    "Certificate authorities, certificates, CRLs and OCSP (Vault's pki secrets engine).",
		Paths:   b.paths(),
		Secrets: []*framework.Secret{b.secretCerts()},
	}
	if err := b.router.Init(); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return b, nil
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	var out []*framework.Path
	for _, group := range [][]*framework.Path{
		b.rootPaths(), b.intermediatePaths(), b.issuerPaths(), b.configPaths(),
		b.rolePaths(), b.issuePaths(), b.revokePaths(), b.fetchPaths(),
		b.ocspPaths(), b.tidyPaths(),
	} {
		out = append(out, group...)
	}
	return out
}

// HandleRequest implements logical.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.router.HandleRequest(ctx, req)
}

// ExistenceCheck implements logical.Backend: roles/ entries exist when
// stored.
func (b *Backend) ExistenceCheck(ctx context.Context, req *logical.Request) (exists, ok bool, err error) {
	return b.router.ExistenceCheck(ctx, req)
}

// RouteInfo implements logical.RouteDescriber. Sudo applies to writes
// only: reading config/ needs no sudo.
func (b *Backend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	info, ok := b.router.RouteInfo(path, op)
	if op == logical.ReadOperation || op == logical.ListOperation {
		info.Sudo = false
	}
	return info, ok
}

// PathPatterns lists the engine's route patterns in priority order.
func (b *Backend) PathPatterns() []string { return b.router.PathPatterns() }

// RouteDocs implements framework.RouteDocs (the API reference).
func (b *Backend) RouteDocs() []framework.PathDoc { return b.router.Docs() }

// Periodic implements logical.Periodic: it rebuilds every CRL past half
// of its validity (config/crl expiry), so that relying parties never
// hold a lapsed one. Core calls it on the active node about once a
// second.
func (b *Backend) Periodic(ctx context.Context) error {
	if b.storage == nil {
		return nil
	}
	return b.rebuildDueCRLs(ctx, b.storage)
}

// mountTTLs are the mount's default and maximum lease TTLs.
func (b *Backend) mountTTLs() (def, maxTTL time.Duration) {
	const vaultDefault = 768 * time.Hour
	def, maxTTL = vaultDefault, vaultDefault
	if b.system != nil {
		d, m := b.system.MountTTLs()
		if d > 0 {
			def = d
		}
		if m > 0 {
			maxTTL = m
		}
	}
	if def > maxTTL {
		def = maxTTL
	}
	return def, maxTTL
}
