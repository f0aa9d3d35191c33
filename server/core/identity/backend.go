package identity

import (
	"context"
	"maps"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// backend is the identity/ mount: the store's framework backend behind a
// readiness check and Vault's key=value form of metadata fields.
type backend struct{ s *Store }

var (
	_ logical.Backend        = (*backend)(nil)
	_ logical.RouteDescriber = (*backend)(nil)
)

// HandleRequest implements logical.Backend.
func (b *backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if !b.s.ready.Load() {
		return nil, ErrNotSetup
	}
	r := *req
	r.Data = kvPairs(req.Data)
	return b.s.backend.HandleRequest(ctx, &r)
}

// ExistenceCheck implements logical.Backend: identity paths have none, so
// every write is an update, as in Vault.
func (b *backend) ExistenceCheck(context.Context, *logical.Request) (bool, bool, error) {
	return false, false, nil
}

// RouteInfo implements logical.RouteDescriber: ordinary authenticated
// routes, none privileged.
func (b *backend) RouteInfo(path string, op logical.Operation) (logical.RouteInfo, bool) {
	return b.s.backend.RouteInfo(path, op)
}

// metadataFields take Vault's TypeKVPairs, which the CLI sends as
// "k=v" strings (one, or a list when the flag repeats).
var metadataFields = []string{"metadata", "custom_metadata"}

// kvPairs returns data with "k=v" strings of metadata fields turned into
// objects; data itself is not modified.
func kvPairs(data map[string]any) map[string]any {
	out, cloned := data, false
	for _, f := range metadataFields {
		var list []any
		switch v := data[f].(type) {
		case string:
			list = []any{v}
		case []any:
			list = v
		case []string:
			for _, s := range v {
				list = append(list, s)
			}
		default:
			continue
		}
		m, ok := pairsToMap(list)
		if !ok {
			continue // left for the schema to refuse
		}
		if !cloned {
			out, cloned = maps.Clone(data), true
		}
		out[f] = m
	}
	return out
}

func pairsToMap(list []any) (map[string]any, bool) {
	m := make(map[string]any, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

// paths declares every route of the backend, relative to identity/.
func (s *Store) paths() []*framework.Path {
	var out []*framework.Path
	out = append(out, s.entityPaths()...)
	out = append(out, s.aliasPaths()...)
	out = append(out, s.groupPaths()...)
	out = append(out, s.groupAliasPaths()...)
	return out
}

// timeString renders a timestamp as Vault does.
func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// mountOf returns the path and type to render for an alias.
func (s *Store) mountOf(a *alias) (path, typ string) {
	if s.opts.Mounts != nil {
		if mi, ok := s.opts.Mounts(a.MountAccessor); ok {
			return mi.Path, mi.Type
		}
	}
	return a.MountPath, a.MountType
}

// checkAccessor refuses an unknown mount accessor when the store can
// resolve them, and returns what it knows of the mount.
func (s *Store) checkAccessor(acc string) (MountInfo, error) {
	if s.opts.Mounts == nil {
		return MountInfo{}, nil
	}
	mi, ok := s.opts.Mounts(acc)
	if !ok {
		return MountInfo{}, badRequest("invalid mount accessor %q", acc)
	}
	return mi, nil
}

// listResponse is Vault's ListResponseWithInfo.
func listResponse(keys []string, info map[string]any) *logical.Response {
	data := map[string]any{"keys": keys}
	if len(info) > 0 {
		data["key_info"] = info
	}
	return &logical.Response{Data: data}
}

// emptyIfNil renders a nil slice as [] (Vault's lists are never null).
func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
