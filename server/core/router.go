package core

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
	"github.com/secretumvault/secretumvault/server/core/token"
	"github.com/secretumvault/secretumvault/storage"
)

// route is one mounted backend instance with its storage view. prefix is
// the full path prefix it serves: "secret/" for a secrets engine,
// "auth/approle/" for an auth method.
type route struct {
	prefix  string
	entry   *mountEntry
	backend logical.Backend
	view    logical.Storage
}

// router maps request paths to mounts by longest prefix. The route list is
// copy-on-write: readers never lock.
type router struct {
	routes atomic.Pointer[[]*route] // sorted by prefix length, longest first
}

func (r *router) match(path string) *route {
	rs := r.routes.Load()
	if rs == nil {
		return nil
	}
	for _, rt := range *rs {
		if strings.HasPrefix(path, rt.prefix) || path+"/" == rt.prefix {
			return rt
		}
	}
	return nil
}

func (r *router) all() []*route {
	if rs := r.routes.Load(); rs != nil {
		return *rs
	}
	return nil
}

// of returns the routes of one table (secrets or auth).
func (r *router) of(kind mountKind) []*route {
	var out []*route
	for _, rt := range r.all() {
		if rt.prefix == kind.prefix()+rt.entry.Path {
			out = append(out, rt)
		}
	}
	return out
}

func (r *router) set(rs []*route) {
	sorted := append([]*route(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i].prefix) > len(sorted[j].prefix) })
	r.routes.Store(&sorted)
}

// replace swaps the routes of prefix for rt (nil removes them).
func (r *router) replace(prefix string, rt *route) {
	var routes []*route
	for _, x := range r.all() {
		if x.prefix != prefix {
			routes = append(routes, x)
		}
	}
	if rt != nil {
		routes = append(routes, rt)
	}
	r.set(routes)
}

// buildRouter instantiates every backend of both mount tables, plus the
// token store at auth/token/.
func (c *Core) buildRouter(ctx context.Context, secrets, auths *mountTable, ts *token.Store, ids *identity.Store) (*router, error) {
	r := &router{}
	routes := []*route{
		{prefix: authPrefix + tokenMount.Path, entry: tokenMount, backend: token.NewBackend(ts)},
		{prefix: identityMount.Path, entry: identityMount, backend: ids.Backend()},
	}
	for _, t := range []struct {
		kind  mountKind
		table *mountTable
	}{{secretMounts, secrets}, {authMounts, auths}} {
		for _, e := range t.table.Entries {
			rt, err := c.newRoute(ctx, t.kind, e)
			if err != nil {
				return nil, err
			}
			routes = append(routes, rt)
		}
	}
	r.set(routes)
	return r, nil
}

func (c *Core) newRoute(ctx context.Context, kind mountKind, e *mountEntry) (*route, error) {
	f, ok := c.factories(kind)[e.Type]
	if !ok {
		return nil, logical.InvalidRequest("type", "unknown %s type %q", kind.noun(), e.Type)
	}
	prefix := kind.prefix() + e.Path
	view := storage.NewView(c.barrier, kind.storagePrefix()+e.UUID+"/")
	b, err := f(ctx, &logical.BackendConfig{MountPoint: prefix, Config: e.Options, Storage: view, System: mountSystem{c: c, kind: kind, path: e.Path},
		Logger: c.logger.With(slog.String("mount", prefix))})
	if err != nil {
		return nil, fmt.Errorf("core: mount %s (%s): %w", prefix, e.Type, err)
	}
	return &route{prefix: prefix, entry: e, backend: b, view: view}, nil
}

// MountPoint returns the mount a request path falls under, for metric
// labels: "sys/", "auth/token/", an engine mount, or "".
func (c *Core) MountPoint(path string) string {
	path = strings.TrimPrefix(path, "/")
	if _, ok := sysRelative(path); ok {
		return sysMountPath
	}
	st := c.active.Load()
	if st == nil {
		return ""
	}
	if rt := st.router.match(path); rt != nil {
		return rt.prefix
	}
	return ""
}
