package core

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// System-wide lease TTLs a mount inherits when it sets none (Vault's
// defaults: 32 days).
const (
	systemDefaultLeaseTTL = 768 * time.Hour
	systemMaxLeaseTTL     = 768 * time.Hour
)

// mountFields is the schema of sys/mounts/:path and sys/auth/:path writes
// and of their tune endpoints.
func mountFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"path":              {Type: framework.TypeString},
		"type":              {Type: framework.TypeString},
		"description":       {Type: framework.TypeString},
		"config":            {Type: framework.TypeMap},
		"options":           {Type: framework.TypeStringMap},
		"local":             {Type: framework.TypeBool},
		"seal_wrap":         {Type: framework.TypeBool},
		"default_lease_ttl": {Type: framework.TypeDuration},
		"max_lease_ttl":     {Type: framework.TypeDuration},
	}
}

// mountInput is the decoded body of an enable or tune request.
type mountInput struct {
	Path        string            `json:"path"`
	Type        string            `json:"type"`
	Description *string           `json:"description"`
	Config      map[string]any    `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
	// Tune takes the TTLs at the top level; enable inside config.
	DefaultLeaseTTL *time.Duration `json:"default_lease_ttl"`
	MaxLeaseTTL     *time.Duration `json:"max_lease_ttl"`
}

// configTTLs decodes the TTLs of an enable request's config object with
// the one duration parser.
func (in *mountInput) configTTLs() (def, max *time.Duration, err error) {
	var out struct {
		Def *time.Duration `json:"default_lease_ttl"`
		Max *time.Duration `json:"max_lease_ttl"`
	}
	fd := &framework.FieldData{Raw: in.Config, Schema: map[string]*framework.FieldSchema{
		"default_lease_ttl": {Type: framework.TypeDuration}, "max_lease_ttl": {Type: framework.TypeDuration},
	}}
	if err := fd.Validate(); err != nil {
		return nil, nil, logical.InvalidRequest("config", "%v", err)
	}
	if err := fd.Decode(&out); err != nil {
		return nil, nil, err
	}
	return out.Def, out.Max, nil
}

func (c sysHandlers) mountPaths() []*framework.Path {
	return append(c.tablePaths(secretMounts, "mounts"),
		&framework.Path{Pattern: "internal/ui/mounts", Operations: readOp(c.handleUIMounts)},
		&framework.Path{Pattern: "internal/ui/mounts/(?P<path>.+)", Operations: readOp(c.handleUIMount)},
	)
}

func (c sysHandlers) authPaths() []*framework.Path { return c.tablePaths(authMounts, "auth") }

// tablePaths are the list, tune and enable/disable endpoints of one mount
// table (sys/mounts or sys/auth).
func (c sysHandlers) tablePaths(kind mountKind, base string) []*framework.Path {
	t := &tableHandlers{c: c.Core, kind: kind}
	return []*framework.Path{
		{Pattern: base, Operations: readOp(t.list), HelpSynopsis: "List the " + kind.noun() + "s."},
		{
			Pattern: base + "/(?P<path>.+)/tune", Fields: mountFields(),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: t.tuneRead, logical.UpdateOperation: t.tuneWrite,
			},
			HelpSynopsis: "Read or tune a mount's configuration.",
		},
		{
			Pattern: base + "/(?P<path>.+)", Fields: mountFields(),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: t.read, logical.UpdateOperation: t.enable, logical.DeleteOperation: t.disable,
			},
			HelpSynopsis: "Enable, read or disable a " + kind.noun() + ".",
		},
	}
}

// tableHandlers serve one mount table.
type tableHandlers struct {
	c    *Core
	kind mountKind
}

func (t *tableHandlers) list(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	st, err := t.c.state()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: mountsData(st, t.kind)}, nil
}

// mountsData renders a table as Vault's sys/mounts or sys/auth.
func mountsData(st *activeState, kind mountKind) map[string]any {
	out := map[string]any{}
	for _, rt := range st.router.of(kind) {
		out[rt.entry.Path] = mountData(rt.entry)
	}
	if kind == secretMounts {
		out[sysMountPath] = mountData(&mountEntry{Path: sysMountPath, Type: sysMountType, Description: "system endpoints used for control, policy and debugging", Accessor: "system_00000000", UUID: "00000000-0000-0000-0000-000000000000"})
	}
	return out
}

// mountData renders a mount as Vault's sys/mounts does.
func mountData(e *mountEntry) map[string]any {
	opts := map[string]any{}
	for k, v := range e.Options {
		opts[k] = v
	}
	return map[string]any{
		"type":        e.Type,
		"description": e.Description,
		"accessor":    e.Accessor,
		"uuid":        e.UUID,
		"config": map[string]any{
			"default_lease_ttl": e.Config.DefaultLeaseTTL,
			"max_lease_ttl":     e.Config.MaxLeaseTTL,
			"force_no_cache":    false,
		},
		"options":                 opts,
		"local":                   e.Local,
		"seal_wrap":               e.SealWrap,
		"external_entropy_access": false,
		"plugin_version":          "",
		"running_plugin_version":  "v" + Version + "+builtin",
		"running_sha256":          "",
	}
}

// find returns the route of the mount at path ("" when none).
func (t *tableHandlers) find(st *activeState, path string) *route {
	for _, rt := range st.router.of(t.kind) {
		if rt.entry.Path == path {
			return rt
		}
	}
	return nil
}

func (t *tableHandlers) read(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	st, err := t.c.state()
	if err != nil {
		return nil, err
	}
	path := normalizeMountPath(d.String("path"))
	rt := t.find(st, path)
	if rt == nil {
		return nil, fmt.Errorf("%w: no %s at %q", logical.ErrNotFound, t.kind.noun(), path)
	}
	return &logical.Response{Data: mountData(rt.entry)}, nil
}

func (t *tableHandlers) enable(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in mountInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	return nil, t.c.enableMount(ctx, t.kind, normalizeMountPath(in.Path), &in)
}

func (t *tableHandlers) disable(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return nil, t.c.disableMount(ctx, t.kind, normalizeMountPath(d.String("path")))
}

func (c *Core) enableMount(ctx context.Context, kind mountKind, path string, in *mountInput) error {
	if in.Type == "" {
		return logical.InvalidRequest("type", "missing %s type", kind.noun())
	}
	typ, opts, err := engineType(in.Type, in.Options)
	if err != nil {
		return err
	}
	def, max, err := in.configTTLs()
	if err != nil {
		return err
	}
	c.mountsLock.Lock()
	defer c.mountsLock.Unlock()
	st, err := c.state()
	if err != nil {
		return err
	}
	if err := st.table(kind).checkMountPath(kind, path); err != nil {
		return err
	}
	e, err := newMountEntry(path, typ, opts, in)
	if err != nil {
		return err
	}
	if err := applyTTLs(&e.Config, def, max); err != nil {
		return err
	}
	rt, err := c.newRoute(ctx, kind, e)
	if err != nil {
		return err
	}
	next := st.table(kind).clone()
	next.Entries = append(next.Entries, e)
	if err := saveMountTable(ctx, c.barrier, kind.tableKey(), next); err != nil {
		return err
	}
	st.setTable(kind, next)
	st.router.replace(rt.prefix, rt)
	c.logger.Info("core: mounted "+kind.noun(), "path", rt.prefix, "type", typ)
	return nil
}

func newMountEntry(path, typ string, opts map[string]string, in *mountInput) (*mountEntry, error) {
	id, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	acc, err := logical.NewUUID()
	if err != nil {
		return nil, err
	}
	e := &mountEntry{Path: path, Type: typ, UUID: id, Accessor: typ + "_" + acc[:8], Options: opts, Local: in.Local, SealWrap: in.SealWrap}
	if in.Description != nil {
		e.Description = *in.Description
	}
	return e, nil
}

func (c *Core) disableMount(ctx context.Context, kind mountKind, path string) error {
	c.mountsLock.Lock()
	defer c.mountsLock.Unlock()
	st, err := c.state()
	if err != nil {
		return err
	}
	if kind == authMounts && path == tokenMount.Path {
		return logical.InvalidRequest("path", "the token auth method cannot be disabled")
	}
	e := st.table(kind).find(path)
	if e == nil {
		// Vault answers 204 for disabling a path that is not mounted.
		return nil
	}
	// As Vault: the mount's leases are revoked first; a mount whose
	// leases cannot all be revoked stays (revoke-force them, then retry).
	if err := c.leases.RevokePrefix(ctx, kind.prefix()+path, false); err != nil {
		return fmt.Errorf("core: disable %s: revoke its leases: %w", kind.prefix()+path, err)
	}
	next := &mountTable{}
	for _, x := range st.table(kind).Entries {
		if x.Path != path {
			next.Entries = append(next.Entries, x)
		}
	}
	if err := saveMountTable(ctx, c.barrier, kind.tableKey(), next); err != nil {
		return err
	}
	rt := st.router.match(kind.prefix() + path)
	st.setTable(kind, next)
	st.router.replace(kind.prefix()+path, nil)
	if rt != nil && rt.entry == e {
		if cl, ok := rt.backend.(logical.Cleaner); ok {
			cl.Cleanup(ctx)
		}
	}
	c.logger.Info("core: unmounted "+kind.noun(), "path", kind.prefix()+path, "type", e.Type)
	if err := deleteTree(ctx, storage.NewView(c.barrier, kind.storagePrefix()+e.UUID+"/"), ""); err != nil {
		return fmt.Errorf("core: purge data of %s: %w", path, err)
	}
	return nil
}

// deleteTree removes every key under prefix of b.
func deleteTree(ctx context.Context, b storage.Backend, prefix string) error {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k[len(k)-1] == '/' {
			if err := deleteTree(ctx, b, prefix+k); err != nil {
				return err
			}
			continue
		}
		if err := b.Delete(ctx, prefix+k); err != nil {
			return err
		}
	}
	return nil
}
