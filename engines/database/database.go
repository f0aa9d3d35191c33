// Package database is Vault's database secrets engine: it keeps
// connections to database servers (config/:name), creates short-lived
// users for roles (roles/:name, creds/:name) under leases the
// expiration manager renews and revokes, rotates the password of the
// connection's own user (rotate-root/:name), and manages the passwords
// of existing users on a schedule (static-roles/:name, static-creds/:name,
// rotate-role/:name). The request and response shapes are Vault's, so
// Vault's CLI, SDKs and Terraform provider work unchanged.
//
// Each database server is reached through a dbplugin.Database from the
// plugins map the Factory is given (postgres, mysql). One Database is
// kept per config: opened at config write, or lazily on first use after
// a restart, reset or failover; closed when the config is replaced,
// deleted or reset, and by Cleanup.
//
// Powers beyond logical.Backend (found by core with type assertions):
// logical.RouteDescriber (creds/ is a "generate", rotate-* a "rotate"),
// logical.TTLGranter (creds/:name grants its role's default TTL),
// logical.Cleaner (closes every connection), logical.Periodic
// (rotates the static roles that are due) and logical.Rotator (rotation
// policies rotate and verify static roles and connections; rotator.go).
//
// Secrets (connection passwords, static role passwords) live only in
// the mount's storage view, which core encrypts behind the barrier. No
// password, and no connection URL that embeds one, is ever returned,
// logged or put in an error: the config read redacts it.
//
// Every Backend method is safe for concurrent use.
package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Type is the mount type of the engine.
const Type = "database"

// SecretCredsType is the logical.Secret type of dynamic credentials.
const SecretCredsType = "creds"

// Sentinel errors of this package. Client errors are reported with
// logical's sentinels (ErrNotFound, InvalidRequest) instead.
var (
	// ErrCorrupt: a stored entry cannot be decoded.
	ErrCorrupt = errors.New("database: corrupt storage entry")
	// ErrNoPlugins: Factory was given no plugins.
	ErrNoPlugins = errors.New("database: no database plugins")
	// ErrRotationInFlight: Verify found the stored password refused but
	// the one of an unfinished rotation accepted (not drift: the
	// rotation's retry, or the next connection open, settles it).
	ErrRotationInFlight = errors.New("database: a rotation is in flight")
)

// Backend is one database mount.
type Backend struct {
	router  *framework.Backend
	plugins map[string]func() dbplugin.Database
	system  logical.SystemView
	// storage is the mount's view, for Periodic (requests carry theirs).
	storage logical.Storage
	now     func() time.Time
	log     *slog.Logger
	observe func(context.Context, RotationEvent)

	conns *connManager
	// roleLocks serialise writes and rotations of one role name (roles
	// and static roles share one name space).
	roleLocks stripes
	sched     *schedule
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
	_ logical.TTLGranter     = (*Backend)(nil)
	_ logical.Cleaner        = (*Backend)(nil)
	_ logical.Periodic       = (*Backend)(nil)
)

// Option configures a Backend.
type Option func(*Backend)

// WithClock replaces time.Now (credential expirations, rotation times).
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// RotationEvent describes one password rotation attempt, for an
// observer that audits them (WithRotationObserver). It never holds a
// password.
type RotationEvent struct {
	// Kind is "root" (rotate-root) or "static" (a static role).
	Kind string
	// Name is the config (root) or static role (static) rotated;
	// DBName its connection and Username the database user.
	Name, DBName, Username string
	// Reason is "manual" (rotate-root, rotate-role), "create" (a new
	// static role), "scheduled" (Periodic) or "policy" (a rotation
	// policy, through logical.Rotator's Rotate).
	Reason string
	// Time is when the attempt ended; Err its failure (nil: the new
	// password is in effect and stored). Err holds no secret.
	Time time.Time
	Err  error
}

// WithRotationObserver has fn called after every rotation attempt,
// successful or not, on the goroutine that made it (a request's or
// Periodic's): core's hook to audit rotations. fn must not block for
// long or call back into the Backend.
func WithRotationObserver(fn func(context.Context, RotationEvent)) Option {
	return func(b *Backend) { b.observe = fn }
}

// WithLogger sets the logger rotations and connection events are
// reported to, never with a password (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// Factory returns the logical.Factory of database mounts. plugins maps a
// config's plugin_name ("postgresql-database-plugin",
// "mysql-database-plugin") to a constructor of a fresh, uninitialised
// Database; it is not modified and must not be modified afterwards.
func Factory(plugins map[string]func() dbplugin.Database, opts ...Option) logical.Factory {
	return func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		return New(ctx, conf, plugins, opts...)
	}
}

// New builds a database mount. conf.Storage is the mount's view, used by
// Periodic; conf.System generates passwords and gives the mount's TTLs
// (nil: Vault's default password policy, and 768h TTLs).
func New(_ context.Context, conf *logical.BackendConfig, plugins map[string]func() dbplugin.Database, opts ...Option) (*Backend, error) {
	if len(plugins) == 0 {
		return nil, ErrNoPlugins
	}
	b := &Backend{plugins: plugins, now: time.Now, log: slog.Default()}
	if conf != nil {
		b.system, b.storage = conf.System, conf.Storage
		if conf.Logger != nil {
			b.log = conf.Logger
		}
	}
	if rec, ok := b.system.(logical.EventRecorder); ok && conf != nil {
		mount := conf.MountPoint
		// Core audits every rotation (an option may replace this).
		b.observe = func(ctx context.Context, ev RotationEvent) {
			path := mount + "rotate-role/" + ev.Name
			if ev.Kind == "root" {
				path = mount + "rotate-root/" + ev.Name
			}
			rec.RecordEvent(ctx, "rotate", path, ev.Err)
		}
	}
	for _, o := range opts {
		o(b)
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.conns = newConnManager(b)
	b.sched = newSchedule()
	b.router = &framework.Backend{
		Help:    "Dynamic and static database credentials (Vault's database secrets engine).",
		Paths:   b.paths(),
		Secrets: []*framework.Secret{b.secretCreds()},
	}
	if err := b.router.Init(); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return b, nil
}

// rotated reports a rotation attempt to the observer, if any.
func (b *Backend) rotated(ctx context.Context, ev RotationEvent) {
	if b.observe != nil {
		ev.Time = b.now()
		b.observe(ctx, ev)
	}
}

// paths lists the routes, most specific first.
func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathConfigList(), b.pathConfig(), b.pathReset(), b.pathRotateRoot(),
		b.pathRoleList(), b.pathRole(), b.pathCreds(),
		b.pathStaticRoleList(), b.pathStaticRole(), b.pathStaticCreds(), b.pathRotateRole(),
	}
}

// HandleRequest implements logical.Backend.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.router.HandleRequest(ctx, req)
}

// ExistenceCheck implements logical.Backend: config/, roles/ and
// static-roles/ entries exist when stored.
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

// GrantTTL implements logical.TTLGranter: a read of creds/:name grants
// the role's default_ttl (else the mount's default), bounded by its
// max_ttl (else the mount's). Any other request, or a role that does not
// exist, is ok=false. req.Path is mount-relative and req.Storage the
// mount's view.
func (b *Backend) GrantTTL(ctx context.Context, req *logical.Request) (time.Duration, bool, error) {
	name, ok := credsRoleName(req)
	if !ok {
		return 0, false, nil
	}
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil || r == nil {
		return 0, false, err
	}
	ttl, _ := b.leaseTTLs(r)
	return ttl, true, nil
}

// Cleanup implements logical.Cleaner: it closes every connection and
// forgets the rotation schedule (the next Periodic reloads it from
// storage). Core calls it when the mount is disabled and when the node
// stops being active; a later request reopens what it needs.
func (b *Backend) Cleanup(ctx context.Context) {
	b.conns.closeAll(ctx)
	b.sched.reset()
}

// Periodic implements logical.Periodic: it rotates every static role
// whose rotation is due (a failed one is retried on a later call, with
// backoff, and its current password stays readable). Core calls it on
// the active node about once a second. The error joins the failed
// rotations' errors, which hold no secret.
func (b *Backend) Periodic(ctx context.Context) error {
	if b.storage == nil {
		return nil
	}
	return b.rotateDue(ctx, b.storage)
}
