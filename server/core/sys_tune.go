package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
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
func (c sysHandlers) handleUIMounts(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"secret": mountsData(st, secretMounts), "auth": mountsData(st, authMounts)}}, nil
}

// handleUIMount answers sys/internal/ui/mounts/:path, which Vault's CLI
// calls before every kv command to learn the mount and its kv version.
func (c sysHandlers) handleUIMount(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	st, err := c.state()
	if err != nil {
		return nil, err
	}
	path := d.String("path")
	rt := st.router.match(strings.TrimPrefix(path, "/"))
	if rt == nil {
		return nil, fmt.Errorf("%w: preflight capability check returned 403, please ensure client's policies grant access to path %q", logical.ErrPermissionDenied, path)
	}
	data := mountData(rt.entry)
	data["path"] = rt.prefix
	return &logical.Response{Data: data}, nil
}
