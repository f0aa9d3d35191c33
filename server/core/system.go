package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// handleSystem serves the sys/ paths that are not Sys-service RPCs
// (init, unseal, seal-status, seal, health and leader have typed RPCs).
func (c *Core) handleSystem(ctx context.Context, st *activeState, req *logical.Request) (*logical.Response, error) {
	p := strings.TrimPrefix(req.Path, "sys/")
	op := req.Operation
	switch {
	case p == "mounts" && op == logical.ReadOperation:
		return c.listMounts(st), nil
	case strings.HasPrefix(p, "mounts/") && strings.HasSuffix(p, "/tune"):
		return c.handleTune(ctx, st, normalizeMountPath(strings.TrimSuffix(strings.TrimPrefix(p, "mounts/"), "/tune")), req)
	case strings.HasPrefix(p, "mounts/"):
		return c.handleMount(ctx, st, normalizeMountPath(strings.TrimPrefix(p, "mounts/")), req)
	case p == "auth" && op == logical.ReadOperation:
		return listAuthMounts(), nil
	case strings.HasPrefix(p, "internal/ui/mounts/") && op == logical.ReadOperation:
		return c.uiMount(st, strings.TrimPrefix(p, "internal/ui/mounts/"))
	case p == "internal/ui/mounts" && op == logical.ReadOperation:
		return &logical.Response{Data: map[string]any{"secret": c.mountsData(st), "auth": listAuthMounts().Data}}, nil
	case p == "key-status" && op == logical.ReadOperation:
		return c.keyStatus()
	case p == "rotate" && (op == logical.UpdateOperation || op == logical.CreateOperation):
		if _, err := c.barrier.Rotate(ctx); err != nil {
			return nil, fmt.Errorf("core: rotate barrier key: %w", err)
		}
		return nil, nil
	case p == "metrics" && op == logical.ReadOperation:
		return &logical.Response{}, nil
	}
	if systemPaths[p] || strings.HasPrefix(p, "mounts") {
		return nil, fmt.Errorf("%w: %s on sys/%s", logical.ErrUnsupportedOperation, op, p)
	}
	return nil, fmt.Errorf("%w: sys/%s", logical.ErrUnsupportedPath, p)
}

// systemPaths are known sys paths, for 405 versus 404.
var systemPaths = map[string]bool{
	"auth": true, "key-status": true, "rotate": true, "metrics": true, "internal/ui/mounts": true,
}

func (c *Core) keyStatus() (*logical.Response, error) {
	ks, err := c.barrier.KeyStatus()
	if err != nil {
		return nil, fmt.Errorf("core: key status: %w", err)
	}
	return &logical.Response{Data: map[string]any{
		"term":         ks.Term,
		"install_time": ks.InstallTime.UTC().Format(time.RFC3339Nano),
		"encryptions":  ks.Encryptions,
	}}, nil
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

func (c *Core) mountsData(st *activeState) map[string]any {
	out := map[string]any{}
	for _, rt := range st.router.all() {
		out[rt.entry.Path] = mountData(rt.entry)
	}
	out["sys/"] = mountData(&mountEntry{Path: "sys/", Type: "system", Description: "system endpoints used for control, policy and debugging", Accessor: "system_00000000", UUID: "00000000-0000-0000-0000-000000000000"})
	return out
}

func (c *Core) listMounts(st *activeState) *logical.Response {
	return &logical.Response{Data: c.mountsData(st)}
}

func listAuthMounts() *logical.Response {
	return &logical.Response{Data: map[string]any{
		"token/": mountData(&mountEntry{Path: "token/", Type: "token", Description: "token based credentials", Accessor: "auth_token_00000000", UUID: "00000000-0000-0000-0000-000000000001"}),
	}}
}

// uiMount answers sys/internal/ui/mounts/:path, which Vault's CLI calls
// before every kv command to learn the mount and its kv version.
func (c *Core) uiMount(st *activeState, path string) (*logical.Response, error) {
	rt := st.router.match(strings.TrimPrefix(path, "/"))
	if rt == nil {
		return nil, fmt.Errorf("%w: preflight capability check returned 403, please ensure client's policies grant access to path %q", logical.ErrPermissionDenied, path)
	}
	d := mountData(rt.entry)
	d["path"] = rt.entry.Path
	return &logical.Response{Data: d}, nil
}

// durationField accepts Vault's duration forms: seconds as a number or
// string, or a Go duration string such as "1h".
type durationField int64

// UnmarshalJSON implements json.Unmarshaler.
func (d *durationField) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return err
		}
		*d = durationField(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a number of seconds or a string like \"1h\"")
	}
	if s == "" {
		*d = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*d = durationField(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = durationField(v / time.Second)
	return nil
}

// decodeData decodes request data into a typed struct; errors are 400s.
func decodeData(data map[string]any, into any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return logical.InvalidRequest("", "cannot encode request data: %v", err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return logical.InvalidRequest("", "invalid request data: %v", err)
	}
	return nil
}
