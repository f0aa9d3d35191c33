package token

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// MountType is the type of the token auth method, mounted at auth/token/.
const MountType = "token"

type callerKey struct{}

// ContextWithCaller returns ctx carrying the authenticated entry of the
// request's token; the pipeline sets it before the token backend runs.
func ContextWithCaller(ctx context.Context, e *Entry) context.Context {
	return context.WithValue(ctx, callerKey{}, e)
}

type sudoKey struct{}

// ContextWithSudo returns ctx carrying a check of whether the caller has
// sudo on the request's path (Vault's "root or sudo privileges"); the
// pipeline sets it for token paths. It is called at most when needed.
func ContextWithSudo(ctx context.Context, check func() bool) context.Context {
	return context.WithValue(ctx, sudoKey{}, check)
}

// privilegeCheck is privileged as a function evaluated once, on demand.
func privilegeCheck(ctx context.Context, caller *Entry) func() bool {
	return sync.OnceValue(func() bool { return privileged(ctx, caller) })
}

// privileged reports whether the caller is root or has sudo on the path.
func privileged(ctx context.Context, caller *Entry) bool {
	if caller.IsRoot() {
		return true
	}
	check, _ := ctx.Value(sudoKey{}).(func() bool)
	return check != nil && check()
}

// CallerFromContext returns the entry ContextWithCaller stored, or nil.
func CallerFromContext(ctx context.Context) *Entry {
	e, _ := ctx.Value(callerKey{}).(*Entry)
	return e
}

// rootPaths are the token paths Vault protects with sudo (OpenBao's
// token store PathsSpecial.Root); every other path is governed by
// policies alone, as in Vault.
func isRootPath(p string) bool {
	return p == "accessors" || strings.HasPrefix(p, "revoke-orphan")
}

// Backend is the store as the auth method mounted at auth/token/: a
// logical.Backend whose caller is the entry in the request context.
type Backend struct {
	store *Store
}

var (
	_ logical.Backend        = (*Backend)(nil)
	_ logical.RouteDescriber = (*Backend)(nil)
)

// NewBackend returns the auth/token/ backend of s.
func NewBackend(s *Store) *Backend { return &Backend{store: s} }

// HandleRequest implements logical.Backend. req.Path is relative to
// auth/token/.
func (b *Backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.store.HandleRequest(ctx, req, CallerFromContext(ctx))
}

// ExistenceCheck implements logical.Backend: token paths have none.
func (b *Backend) ExistenceCheck(context.Context, *logical.Request) (bool, bool, error) {
	return false, false, nil
}

// Paths lists the paths the backend serves, relative to auth/token/.
func Paths() []string {
	return slices.Sorted(maps.Keys(routes))
}

// RouteInfo implements logical.RouteDescriber: every known path needs a
// token; Vault's root-protected ones need sudo.
func (b *Backend) RouteInfo(path string, _ logical.Operation) (logical.RouteInfo, bool) {
	p := strings.TrimSuffix(path, "/")
	if _, ok := routes[p]; !ok {
		return logical.RouteInfo{}, false
	}
	return logical.RouteInfo{Sudo: isRootPath(p)}, true
}

var _ logical.TTLGranter = (*Backend)(nil)

// GrantTTL implements logical.TTLGranter for the create paths: the TTL a
// token that asks for none gets (its period when periodic, else the
// store's default), capped by an explicit_max_ttl, so that a policy can
// bound context.ttl whether or not the client sends a ttl.
func (b *Backend) GrantTTL(_ context.Context, req *logical.Request) (time.Duration, bool, error) {
	switch strings.TrimSuffix(req.Path, "/") {
	case "create", "create-orphan":
	default:
		return 0, false, nil
	}
	ttl := b.store.opts.DefaultTTL
	if d, ok := durationParam(req.Data, "period"); ok && d > 0 {
		ttl = d
	}
	if d, ok := durationParam(req.Data, "explicit_max_ttl"); ok && d > 0 && d < ttl {
		ttl = d
	}
	return min(ttl, b.store.opts.MaxTTL), true, nil
}

func durationParam(data map[string]any, key string) (time.Duration, bool) {
	v, ok := data[key]
	if !ok {
		return 0, false
	}
	d, err := framework.ParseDuration(v)
	return d, err == nil
}
