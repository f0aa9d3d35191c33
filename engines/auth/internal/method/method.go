// Package method is the plumbing every built-in auth method's Backend
// shares: the framework router behind logical.Backend and
// logical.RouteDescriber (Router, which a Backend embeds), the login
// lockout built from the mount's options (NewLockout), and small request
// helpers. It holds no method's logic.
package method

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Router serves a method's routes. A method's Backend embeds it, which
// gives the Backend HandleRequest, ExistenceCheck, RouteInfo and
// PathPatterns. Its methods are safe for concurrent use once NewRouter
// has returned.
type Router struct {
	r *framework.Backend
}

// NewRouter compiles paths (most specific first) with help. name (the
// method type) prefixes the error of a bad path table.
func NewRouter(name, help string, paths []*framework.Path) (Router, error) {
	r := &framework.Backend{Help: help, Paths: paths}
	if err := r.Init(); err != nil {
		return Router{}, fmt.Errorf("%s: %w", name, err)
	}
	return Router{r: r}, nil
}

// HandleRequest implements logical.Backend.
func (r Router) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return r.r.HandleRequest(ctx, req)
}

// ExistenceCheck implements logical.Backend through the matching path's
// ExistenceCheck.
func (r Router) ExistenceCheck(ctx context.Context, req *logical.Request) (exists, ok bool, err error) {
	return r.r.ExistenceCheck(ctx, req)
}

// RouteInfo implements logical.RouteDescriber: a path marked
// Unauthenticated (the login paths) is served without a token.
func (r Router) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	return r.r.RouteInfo(path, op)
}

// PathPatterns lists the method's route patterns in priority order.
func (r Router) PathPatterns() []string { return r.r.PathPatterns() }

// RouteDocs implements framework.RouteDocs (the API reference).
func (r Router) RouteDocs() []framework.PathDoc { return r.r.Docs() }

// NewLockout builds the login lockout of a mount from its options
// (conf.Config: lockout_threshold, lockout_duration,
// lockout_counter_reset, lockout_disable; conf may be nil) on the clock
// now. A bad option is an error wrapping logical.ErrInvalidRequest,
// prefixed with name.
func NewLockout(name string, conf *logical.BackendConfig, now func() time.Time) (*lockout.Tracker, error) {
	var opts map[string]string
	if conf != nil {
		opts = conf.Config
	}
	cfg, err := lockout.ConfigFrom(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: mount options: %w", name, err)
	}
	return lockout.New(cfg, now), nil
}

// DiscardLogger is the logger of a method given none.
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Setup builds what every method's New builds: its lockout from the
// mount options (NewLockout) and its router over paths (NewRouter).
func Setup(name, help string, conf *logical.BackendConfig, now func() time.Time, paths []*framework.Path) (Router, *lockout.Tracker, error) {
	lock, err := NewLockout(name, conf, now)
	if err != nil {
		return Router{}, nil, err
	}
	r, err := NewRouter(name, help, paths)
	if err != nil {
		return Router{}, nil, err
	}
	return r, lock, nil
}

// RemoteAddr is the client's address, "" when the request has none.
func RemoteAddr(req *logical.Request) string {
	if req.Connection == nil {
		return ""
	}
	return req.Connection.RemoteAddr
}
