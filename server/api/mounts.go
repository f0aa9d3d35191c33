package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// The typed mount RPCs are thin adapters over the logical sys/mounts paths,
// so authorization, audit and validation stay in one place: core.

// ListMounts implements pb.SysServer.
func (s *service) ListMounts(ctx context.Context, _ *pb.ListMountsRequest) (*pb.ListMountsResponse, error) {
	resp, err := s.sysRequest(ctx, logical.ReadOperation, "sys/mounts", nil)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &pb.ListMountsResponse{}
	if resp != nil {
		for path, raw := range resp.Data {
			if m, ok := raw.(map[string]any); ok {
				out.Mounts = append(out.Mounts, mountProto(path, m))
			}
		}
	}
	sort.Slice(out.Mounts, func(i, j int) bool { return out.Mounts[i].Path < out.Mounts[j].Path })
	s.succeed(ctx, http.StatusOK)
	return out, nil
}

// EnableMount implements pb.SysServer.
func (s *service) EnableMount(ctx context.Context, in *pb.EnableMountRequest) (*pb.EnableMountResponse, error) {
	data := map[string]any{
		"type":        in.GetType(),
		"description": in.GetDescription(),
		"local":       in.GetLocal(),
		"seal_wrap":   in.GetSealWrap(),
	}
	if len(in.GetOptions()) > 0 {
		data["options"] = in.GetOptions()
	}
	if c := in.GetConfig(); c != nil {
		data["config"] = map[string]any{
			"default_lease_ttl": c.GetDefaultLeaseTtl(),
			"max_lease_ttl":     c.GetMaxLeaseTtl(),
		}
	}
	if err := s.mountCall(ctx, logical.UpdateOperation, in.GetPath(), "", data); err != nil {
		return nil, err
	}
	return &pb.EnableMountResponse{}, nil
}

// DisableMount implements pb.SysServer.
func (s *service) DisableMount(ctx context.Context, in *pb.DisableMountRequest) (*pb.DisableMountResponse, error) {
	if err := s.mountCall(ctx, logical.DeleteOperation, in.GetPath(), "", nil); err != nil {
		return nil, err
	}
	return &pb.DisableMountResponse{}, nil
}

// TuneMount implements pb.SysServer.
func (s *service) TuneMount(ctx context.Context, in *pb.TuneMountRequest) (*pb.TuneMountResponse, error) {
	data := map[string]any{}
	if in.Description != nil {
		data["description"] = in.GetDescription()
	}
	if in.DefaultLeaseTtl != nil {
		data["default_lease_ttl"] = in.GetDefaultLeaseTtl()
	}
	if in.MaxLeaseTtl != nil {
		data["max_lease_ttl"] = in.GetMaxLeaseTtl()
	}
	if len(in.GetOptions()) > 0 {
		data["options"] = in.GetOptions()
	}
	if err := s.mountCall(ctx, logical.UpdateOperation, in.GetPath(), "/tune", data); err != nil {
		return nil, err
	}
	return &pb.TuneMountResponse{}, nil
}

// mountCall runs a write on sys/mounts/<path><suffix>.
func (s *service) mountCall(ctx context.Context, op logical.Operation, path, suffix string, data map[string]any) error {
	path = strings.Trim(path, "/")
	if path == "" {
		return s.fail(ctx, logical.InvalidRequest("path", "missing mount path"))
	}
	if _, err := s.sysRequest(ctx, op, "sys/mounts/"+path+suffix, data); err != nil {
		return s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusOK)
	return nil
}

func (s *service) sysRequest(ctx context.Context, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	noteCall(ctx, string(op), sysMount)
	return s.core.HandleRequest(ctx, &logical.Request{
		ID:          requestIDFor(ctx),
		Operation:   op,
		Path:        path,
		Data:        data,
		ClientToken: clientToken(ctx),
		Connection:  connection(ctx),
	})
}

// mountProto reads one entry of core's sys/mounts answer (Vault's shape).
func mountProto(path string, m map[string]any) *pb.Mount {
	out := &pb.Mount{
		Path:        path,
		Type:        asString(m["type"]),
		Description: asString(m["description"]),
		Accessor:    asString(m["accessor"]),
		Uuid:        asString(m["uuid"]),
		Local:       asBool(m["local"]),
		SealWrap:    asBool(m["seal_wrap"]),
	}
	if cfg, ok := m["config"].(map[string]any); ok {
		out.Config = &pb.MountConfig{
			DefaultLeaseTtl: asInt64(cfg["default_lease_ttl"]),
			MaxLeaseTtl:     asInt64(cfg["max_lease_ttl"]),
			ForceNoCache:    asBool(cfg["force_no_cache"]),
		}
	}
	switch opts := m["options"].(type) {
	case map[string]string:
		out.Options = opts
	case map[string]any:
		out.Options = make(map[string]string, len(opts))
		for k, v := range opts {
			out.Options[k] = asString(v)
		}
	}
	return out
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case json.Number:
		return x.String()
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(raw)
}

func asBool(v any) bool {
	b, _ := v.(bool)
	return b
}

func asInt64(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case int32:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}
