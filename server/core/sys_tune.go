package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// tuneRead answers sys/mounts/:path/tune and sys/auth/:path/tune with the
// effective TTLs: the mount's own, or the system's when it sets none.
func (t *tableHandlers) tuneRead(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	st, err := t.c.state()
	if err != nil {
		return nil, err
	}
	path := normalizeMountPath(d.String("path"))
	rt := t.find(st, path)
	if rt == nil {
		return nil, logical.InvalidRequest("path", "cannot fetch sysview for path %q", path)
	}
	e := rt.entry
	def, max := effectiveTTLs(e.Config)
	opts := e.Options
	if opts == nil {
		opts = map[string]string{}
	}
	return &logical.Response{Data: map[string]any{
		"default_lease_ttl": int64(def / time.Second),
		"max_lease_ttl":     int64(max / time.Second),
		"force_no_cache":    false,
		"description":       e.Description,
		"options":           opts,
	}}, nil
}

// effectiveTTLs applies the system defaults to a mount's TTLs.
func effectiveTTLs(cfg mountConfig) (def, max time.Duration) {
	def, max = time.Duration(cfg.DefaultLeaseTTL)*time.Second, time.Duration(cfg.MaxLeaseTTL)*time.Second
	if max == 0 {
		max = systemMaxLeaseTTL
	}
	if def == 0 {
		def = min(systemDefaultLeaseTTL, max)
	}
	return def, max
}

func (t *tableHandlers) tuneWrite(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in mountInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	return nil, t.c.tuneMount(ctx, t.kind, normalizeMountPath(in.Path), &in)
}

func (c *Core) tuneMount(ctx context.Context, kind mountKind, path string, in *mountInput) error {
	c.mountsLock.Lock()
	defer c.mountsLock.Unlock()
	st, err := c.state()
	if err != nil {
		return err
	}
	next := st.table(kind).clone()
	ne := next.find(path)
	if ne == nil {
		return logical.InvalidRequest("path", "cannot tune %q: no mount at this path", path)
	}
	if in.Description != nil {
		ne.Description = *in.Description
	}
	if err := applyTTLs(&ne.Config, in.DefaultLeaseTTL, in.MaxLeaseTTL); err != nil {
		return err
	}
	if v, ok := in.Options["version"]; ok && v != ne.Options["version"] {
		return logical.InvalidRequest("options.version", "changing the kv version of a mount is not supported")
	}
	if err := saveMountTable(ctx, c.barrier, kind.tableKey(), next); err != nil {
		return err
	}
	// The route keeps its backend; only the table row (config) changes.
	st.setTable(kind, next)
	if rt := st.router.match(kind.prefix() + path); rt != nil && rt.entry.Path == path {
		st.router.replace(rt.prefix, &route{prefix: rt.prefix, entry: ne, backend: rt.backend, view: rt.view})
	}
	return nil
}

// applyTTLs sets the TTLs given (nil leaves one unchanged), refusing
// negative values and a default above the maximum.
func applyTTLs(cfg *mountConfig, def, max *time.Duration) error {
	next := *cfg
	if def != nil {
		if *def < 0 {
			return logical.InvalidRequest("default_lease_ttl", "must not be negative")
		}
		next.DefaultLeaseTTL = int64(*def / time.Second)
	}
	if max != nil {
		if *max < 0 {
			return logical.InvalidRequest("max_lease_ttl", "must not be negative")
		}
		next.MaxLeaseTTL = int64(*max / time.Second)
	}
	if d, m := effectiveTTLs(next); d > m {
		return logical.InvalidRequest("default_lease_ttl", "%s is greater than max_lease_ttl %s", d, m)
	}
	*cfg = next
	return nil
}

// handleUIMounts answers sys/internal/ui/mounts.
func (c sysHandlers) handleUIMounts(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	secrets, auths := mountsData(st, secretMounts), mountsData(st, authMounts)
	if caller := token.CallerFromContext(ctx); !caller.IsRoot() {
		for _, m := range []map[string]any{secrets, auths} {
			for path := range m {
				if !c.mountAccess(ctx, st, caller, path, "", req.Connection) {
					delete(m, path)
				}
			}
		}
	}
	return &logical.Response{Data: map[string]any{"secret": secrets, "auth": auths}}, nil
}

// handleUIMount answers sys/internal/ui/mounts/:path, which Vault's CLI
// calls before every kv command to learn the mount and its kv version.
// As in Vault, the default policy reaches it and the answer is given only
// to a token with some access inside the mount.
func (c sysHandlers) handleUIMount(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	path := strings.TrimLeft(d.String("path"), "/")
	rt := st.router.match(path)
	denied := fmt.Errorf("%w: preflight capability check returned 403, please ensure client's policies grant access to path %q", logical.ErrPermissionDenied, path)
	if rt == nil {
		return nil, denied
	}
	if caller := token.CallerFromContext(ctx); !caller.IsRoot() && !c.mountAccess(ctx, st, caller, rt.prefix, relativePath(path, rt.prefix), req.Connection) {
		return nil, denied
	}
	data := mountData(rt.entry)
	data["path"] = rt.prefix
	return &logical.Response{Data: data}, nil
}

// mountAccess reports whether te may do anything at rel inside the
// mount at prefix — on the path itself or, for kv, under its data/ or
// metadata/ form (what the Vault CLI's kv commands will ask for).
func (c *Core) mountAccess(ctx context.Context, st *activeState, te *token.Entry, prefix, rel string, conn *logical.Connection) bool {
	candidates := []string{prefix + rel}
	if rt := st.router.match(prefix); rt != nil && rt.entry.Type == "kv" {
		candidates = append(candidates, prefix+"data/"+rel, prefix+"metadata/"+rel)
	}
	for _, p := range candidates {
		caps, err := c.capabilities(ctx, st, te, p, conn)
		if err == nil && !slices.Equal(caps, []string{"deny"}) {
			return true
		}
	}
	return false
}
