package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// sysCall runs one typed Sys RPC and returns the answer rendered as the
// REST front end renders it (Vault's JSON; nil for 204).
type sysCall func(ctx context.Context, sys pb.SysClient, opts []grpc.CallOption) ([]byte, error)

// sysRoute returns the Sys RPC that serves method on path, or nil when
// the path goes through Logical.Handle.
func sysRoute(method, path string, req request) sysCall {
	write := method == http.MethodPut || method == http.MethodPost
	switch {
	case path == "sys/init" && method == http.MethodGet:
		return unary(func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) (proto.Message, error) {
			return s.InitStatus(ctx, &pb.InitStatusRequest{}, o...)
		})
	case path == "sys/init" && write:
		in := &pb.InitRequest{}
		return withBody(req, in, func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) (proto.Message, error) {
			return s.Init(ctx, in, o...)
		})
	case path == "sys/unseal" && write:
		in := &pb.UnsealRequest{}
		return withBody(req, in, func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) (proto.Message, error) {
			return s.Unseal(ctx, in, o...)
		})
	case path == "sys/seal-status" && method == http.MethodGet:
		return unary(func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) (proto.Message, error) {
			return s.SealStatus(ctx, &pb.SealStatusRequest{}, o...)
		})
	case path == "sys/seal" && write:
		return func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) ([]byte, error) {
			_, err := s.Seal(ctx, &pb.SealRequest{}, o...)
			return nil, err
		}
	case path == "sys/health" && method == http.MethodGet:
		in, err := healthRequest(req)
		if err != nil {
			return failed(err)
		}
		return unary(func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) (proto.Message, error) {
			return s.Health(ctx, in, o...)
		})
	case path == "sys/leader" && method == http.MethodGet:
		return unary(func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) (proto.Message, error) {
			return s.Leader(ctx, &pb.LeaderRequest{}, o...)
		})
	case path == "sys/mounts" && method == http.MethodGet:
		return listMounts
	}
	if mount, ok := strings.CutPrefix(path, "sys/mounts/"); ok && !strings.HasSuffix(mount, "/tune") {
		switch method {
		case http.MethodDelete:
			return func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) ([]byte, error) {
				_, err := s.DisableMount(ctx, &pb.DisableMountRequest{Path: mount}, o...)
				return nil, err
			}
		case http.MethodPost, http.MethodPut:
			in, ok := enableMountRequest(mount, req.body)
			if !ok {
				return nil // fields the RPC does not carry: Logical serves it
			}
			return func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) ([]byte, error) {
				_, err := s.EnableMount(ctx, in, o...)
				return nil, err
			}
		}
	}
	return nil
}

// unary renders the message an RPC answers.
func unary(call func(context.Context, pb.SysClient, []grpc.CallOption) (proto.Message, error)) sysCall {
	return func(ctx context.Context, s pb.SysClient, o []grpc.CallOption) ([]byte, error) {
		m, err := call(ctx, s, o)
		if err != nil {
			return nil, err
		}
		return json.Marshal(protoMap(m.ProtoReflect()))
	}
}

// withBody decodes the request's JSON body into in (by Vault's field
// names) before the call.
func withBody(req request, in proto.Message, call func(context.Context, pb.SysClient, []grpc.CallOption) (proto.Message, error)) sysCall {
	raw, err := json.Marshal(req.body)
	if err == nil && req.body != nil {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(raw, in)
	}
	if err != nil {
		return failed(fmt.Errorf("client: encode %s body: %w", in.ProtoReflect().Descriptor().Name(), err))
	}
	return unary(call)
}

// failed is a call that fails with err before sending anything.
func failed(err error) sysCall {
	return func(context.Context, pb.SysClient, []grpc.CallOption) ([]byte, error) { return nil, err }
}

// listMounts renders ListMounts as GET sys/mounts: mounts keyed by path.
func listMounts(ctx context.Context, s pb.SysClient, o []grpc.CallOption) ([]byte, error) {
	out, err := s.ListMounts(ctx, &pb.ListMountsRequest{}, o...)
	if err != nil {
		return nil, err
	}
	table := make(map[string]any, len(out.GetMounts()))
	for _, m := range out.GetMounts() {
		table[m.GetPath()] = protoMap(m.ProtoReflect())
	}
	return json.Marshal(table)
}

// healthRequest reads sys/health's query parameters.
func healthRequest(req request) (*pb.HealthRequest, error) {
	in := &pb.HealthRequest{}
	codes := map[string]**int32{"activecode": &in.Activecode, "standbycode": &in.Standbycode,
		"drsecondarycode": &in.Drsecondarycode, "performancestandbycode": &in.Performancestandbycode,
		"sealedcode": &in.Sealedcode, "uninitcode": &in.Uninitcode, "removedcode": &in.Removedcode}
	for k, v := range req.query {
		if len(v) == 0 {
			continue
		}
		switch k {
		case "standbyok", "perfstandbyok":
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return nil, invalidArg("health %s=%q is not a boolean", k, v[0])
			}
			if k == "standbyok" {
				in.Standbyok = b
			} else {
				in.Perfstandbyok = b
			}
		default:
			dst, ok := codes[k]
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v[0], 10, 32)
			if err != nil {
				return nil, invalidArg("health %s=%q is not a status code", k, v[0])
			}
			c := int32(n)
			*dst = &c
		}
	}
	return in, nil
}

// enableMountRequest is the EnableMount message of a POST
// sys/mounts/:path body, false when the body holds what the RPC cannot
// carry (force_no_cache, a TTL that does not parse).
func enableMountRequest(path string, body any) (*pb.EnableMountRequest, bool) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, false
	}
	var in struct {
		Type        string            `json:"type"`
		Description string            `json:"description"`
		Options     map[string]string `json:"options"`
		Local       bool              `json:"local"`
		SealWrap    bool              `json:"seal_wrap"`
		Config      struct {
			DefaultLeaseTTL json.RawMessage `json:"default_lease_ttl"`
			MaxLeaseTTL     json.RawMessage `json:"max_lease_ttl"`
			ForceNoCache    bool            `json:"force_no_cache"`
		} `json:"config"`
	}
	if json.Unmarshal(raw, &in) != nil || in.Config.ForceNoCache {
		return nil, false
	}
	def, ok1 := ttlSeconds(in.Config.DefaultLeaseTTL)
	maxTTL, ok2 := ttlSeconds(in.Config.MaxLeaseTTL)
	if !ok1 || !ok2 {
		return nil, false
	}
	out := &pb.EnableMountRequest{Path: path, Type: in.Type, Description: in.Description, Options: in.Options,
		Local: in.Local, SealWrap: in.SealWrap}
	if def != 0 || maxTTL != 0 {
		out.Config = &pb.MountConfig{DefaultLeaseTtl: def, MaxLeaseTtl: maxTTL}
	}
	return out, true
}

// ttlSeconds reads a TTL given as seconds or as a duration string.
func ttlSeconds(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, true
	}
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
	}
	d, err := ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return int64(d.Seconds()), true
}

// protoMap renders a message as server/api renders it for REST: proto
// field names, 64-bit integers as numbers, fields without presence
// always, fields with presence only when set.
func protoMap(m protoreflect.Message) map[string]any {
	out := map[string]any{}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.HasPresence() && !m.Has(fd) {
			continue
		}
		out[string(fd.Name())] = protoValue(fd, m.Get(fd))
	}
	return out
}

func protoValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch {
	case fd.IsList():
		l := v.List()
		items := make([]any, l.Len())
		for i := range items {
			items[i] = protoScalar(fd, l.Get(i))
		}
		return items
	case fd.IsMap():
		out := map[string]any{}
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			out[k.String()] = protoScalar(fd.MapValue(), mv)
			return true
		})
		return out
	}
	return protoScalar(fd, v)
}

func protoScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	if fd.Kind() == protoreflect.MessageKind {
		return protoMap(v.Message())
	}
	return v.Interface()
}
