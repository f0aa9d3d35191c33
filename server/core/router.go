package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// route is one mounted engine instance with its storage view.
type route struct {
	entry   *mountEntry
	backend logical.Backend
	view    *storage.View
}

// router maps request paths to mounts by longest prefix. The route list is
// copy-on-write: readers never lock.
type router struct {
	routes atomic.Pointer[[]*route] // sorted by path length, longest first
}

func (r *router) match(path string) *route {
	rs := r.routes.Load()
	if rs == nil {
		return nil
	}
	for _, rt := range *rs {
		if strings.HasPrefix(path, rt.entry.Path) || path+"/" == rt.entry.Path {
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

func (r *router) set(rs []*route) {
	sorted := append([]*route(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i].entry.Path) > len(sorted[j].entry.Path) })
	r.routes.Store(&sorted)
}

// buildRouter instantiates every engine of the mount table.
func (c *Core) buildRouter(ctx context.Context, mt *mountTable) (*router, error) {
	r := &router{}
	routes := make([]*route, 0, len(mt.Entries))
	for _, e := range mt.Entries {
		rt, err := c.newRoute(ctx, e)
		if err != nil {
			return nil, err
		}
		routes = append(routes, rt)
	}
	r.set(routes)
	return r, nil
}

func (c *Core) newRoute(ctx context.Context, e *mountEntry) (*route, error) {
	f, ok := c.cfg.Factories[e.Type]
	if !ok {
		return nil, logical.InvalidRequest("type", "unknown secrets engine type %q", e.Type)
	}
	view := storage.NewView(c.barrier, logicalPrefix+e.UUID+"/")
	b, err := f(ctx, &logical.BackendConfig{MountPoint: e.Path, Config: e.Options, Storage: view})
	if err != nil {
		return nil, fmt.Errorf("core: mount %s (%s): %w", e.Path, e.Type, err)
	}
	return &route{entry: e, backend: b, view: view}, nil
}

// MountPoint returns the mount a request path falls under, for metric
// labels: "sys/", "auth/token/", an engine mount, or "".
func (c *Core) MountPoint(path string) string {
	path = strings.TrimPrefix(path, "/")
	switch {
	case strings.HasPrefix(path, "sys/"):
		return "sys/"
	case strings.HasPrefix(path, "auth/token/"):
		return "auth/token/"
	}
	st := c.active.Load()
	if st == nil {
		return ""
	}
	if rt := st.router.match(path); rt != nil {
		return rt.entry.Path
	}
	return ""
}
