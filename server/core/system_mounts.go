package core

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// mountInput is the body of POST sys/mounts/:path and sys/mounts/:path/tune.
type mountInput struct {
	Type        string            `json:"type"`
	Description *string           `json:"description"`
	Config      mountConfigInput  `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
	// Tune accepts the config fields at the top level.
	DefaultLeaseTTL *durationField `json:"default_lease_ttl"`
	MaxLeaseTTL     *durationField `json:"max_lease_ttl"`
}

type mountConfigInput struct {
	DefaultLeaseTTL *durationField `json:"default_lease_ttl"`
	MaxLeaseTTL     *durationField `json:"max_lease_ttl"`
}

func (c *Core) handleMount(ctx context.Context, st *activeState, path string, req *logical.Request) (*logical.Response, error) {
	switch req.Operation {
	case logical.ReadOperation:
		rt := st.router.match(path)
		if rt == nil || rt.entry.Path != path {
			return nil, fmt.Errorf("%w: no mount at %q", logical.ErrNotFound, path)
		}
		return &logical.Response{Data: mountData(rt.entry)}, nil
	case logical.UpdateOperation, logical.CreateOperation:
		var in mountInput
		if err := decodeData(req.Data, &in); err != nil {
			return nil, err
		}
		return nil, c.enableMount(ctx, st, path, &in)
	case logical.DeleteOperation:
		return nil, c.disableMount(ctx, st, path)
	}
	return nil, fmt.Errorf("%w: %s on sys/mounts/%s", logical.ErrUnsupportedOperation, req.Operation, path)
}

func (c *Core) enableMount(ctx context.Context, st *activeState, path string, in *mountInput) error {
	if in.Type == "" {
		return logical.InvalidRequest("type", "missing secrets engine type")
	}
	typ, opts, err := engineType(in.Type, in.Options)
	if err != nil {
		return err
	}
	c.mountsLock.Lock()
	defer c.mountsLock.Unlock()
	if err := st.mounts.checkMountPath(path); err != nil {
		return err
	}
	id, err := uuid()
	if err != nil {
		return err
	}
	acc, err := uuid()
	if err != nil {
		return err
	}
	e := &mountEntry{Path: path, Type: typ, UUID: id, Accessor: typ + "_" + acc[:8], Options: opts, Local: in.Local, SealWrap: in.SealWrap}
	if in.Description != nil {
		e.Description = *in.Description
	}
	applyTTLs(&e.Config, in.Config.DefaultLeaseTTL, in.Config.MaxLeaseTTL)
	rt, err := c.newRoute(ctx, e)
	if err != nil {
		return err
	}
	next := st.mounts.clone()
	next.Entries = append(next.Entries, e)
	if err := saveMountTable(ctx, c.barrier, next); err != nil {
		return err
	}
	st.mounts = next
	st.router.set(append(st.router.all(), rt))
	c.logger.Info("core: mounted secrets engine", "path", path, "type", typ)
	return nil
}

func (c *Core) disableMount(ctx context.Context, st *activeState, path string) error {
	c.mountsLock.Lock()
	defer c.mountsLock.Unlock()
	e := st.mounts.find(path)
	if e == nil {
		// Vault answers 204 for disabling a path that is not mounted.
		return nil
	}
	next := &mountTable{}
	for _, x := range st.mounts.Entries {
		if x.Path != path {
			next.Entries = append(next.Entries, x)
		}
	}
	if err := saveMountTable(ctx, c.barrier, next); err != nil {
		return err
	}
	st.mounts = next
	var routes []*route
	for _, rt := range st.router.all() {
		if rt.entry.Path != path {
			routes = append(routes, rt)
		}
	}
	st.router.set(routes)
	c.logger.Info("core: unmounted secrets engine", "path", path, "type", e.Type)
	if err := deleteTree(ctx, storage.NewView(c.barrier, logicalPrefix+e.UUID+"/"), ""); err != nil {
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

func (c *Core) handleTune(ctx context.Context, st *activeState, path string, req *logical.Request) (*logical.Response, error) {
	c.mountsLock.Lock()
	defer c.mountsLock.Unlock()
	e := st.mounts.find(path)
	if e == nil {
		return nil, logical.InvalidRequest("path", "cannot tune %q: no mount at this path", path)
	}
	switch req.Operation {
	case logical.ReadOperation:
		return &logical.Response{Data: map[string]any{
			"default_lease_ttl": e.Config.DefaultLeaseTTL,
			"max_lease_ttl":     e.Config.MaxLeaseTTL,
			"force_no_cache":    false,
			"description":       e.Description,
			"options":           e.Options,
		}}, nil
	case logical.UpdateOperation, logical.CreateOperation:
	default:
		return nil, fmt.Errorf("%w: %s on sys/mounts/%s/tune", logical.ErrUnsupportedOperation, req.Operation, path)
	}
	var in mountInput
	if err := decodeData(req.Data, &in); err != nil {
		return nil, err
	}
	next := st.mounts.clone()
	ne := next.find(path)
	if in.Description != nil {
		ne.Description = *in.Description
	}
	applyTTLs(&ne.Config, in.DefaultLeaseTTL, in.MaxLeaseTTL)
	if v, ok := in.Options["version"]; ok && v != ne.Options["version"] {
		return nil, logical.InvalidRequest("options.version", "changing the kv version of a mount is not supported")
	}
	if err := saveMountTable(ctx, c.barrier, next); err != nil {
		return nil, err
	}
	// Routes keep their engine; only the table row (config) changes.
	st.mounts = next
	routes := append([]*route(nil), st.router.all()...)
	for i, rt := range routes {
		if rt.entry.Path == path {
			routes[i] = &route{entry: ne, backend: rt.backend, view: rt.view}
		}
	}
	st.router.set(routes)
	return nil, nil
}

func applyTTLs(cfg *mountConfig, def, max *durationField) {
	if def != nil {
		cfg.DefaultLeaseTTL = int64(*def)
	}
	if max != nil {
		cfg.MaxLeaseTTL = int64(*max)
	}
}
