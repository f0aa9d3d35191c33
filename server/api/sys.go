package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

const sysMount = "sys/"

// The typed Sys RPCs are adapters over the logical sys/ paths: each builds
// the request, runs it through core's one pipeline (which authenticates,
// authorizes and audits it) and reads the answer's data into its message.

// InitStatus implements pb.SysServer (GET sys/init).
func (s *service) InitStatus(ctx context.Context, _ *pb.InitStatusRequest) (*pb.InitStatusResponse, error) {
	out := &pb.InitStatusResponse{}
	return out, s.sysCall(ctx, logical.ReadOperation, "sys/init", nil, out, http.StatusOK)
}

// Init implements pb.SysServer (PUT/POST sys/init).
func (s *service) Init(ctx context.Context, in *pb.InitRequest) (*pb.InitResponse, error) {
	out := &pb.InitResponse{}
	return out, s.sysCall(ctx, logical.UpdateOperation, "sys/init", protoData(in), out, http.StatusOK)
}

// Unseal implements pb.SysServer (PUT/POST sys/unseal).
func (s *service) Unseal(ctx context.Context, in *pb.UnsealRequest) (*pb.SealStatusResponse, error) {
	out := &pb.SealStatusResponse{}
	return out, s.sysCall(ctx, logical.UpdateOperation, "sys/unseal", protoData(in), out, http.StatusOK)
}

// SealStatus implements pb.SysServer (GET sys/seal-status).
func (s *service) SealStatus(ctx context.Context, _ *pb.SealStatusRequest) (*pb.SealStatusResponse, error) {
	out := &pb.SealStatusResponse{}
	return out, s.sysCall(ctx, logical.ReadOperation, "sys/seal-status", nil, out, http.StatusOK)
}

// Seal implements pb.SysServer (PUT/POST sys/seal, 204).
func (s *service) Seal(ctx context.Context, _ *pb.SealRequest) (*pb.SealResponse, error) {
	return &pb.SealResponse{}, s.sysCall(ctx, logical.UpdateOperation, "sys/seal", nil, nil, http.StatusNoContent)
}

// Leader implements pb.SysServer (GET sys/leader).
func (s *service) Leader(ctx context.Context, _ *pb.LeaderRequest) (*pb.LeaderResponse, error) {
	out := &pb.LeaderResponse{}
	return out, s.sysCall(ctx, logical.ReadOperation, "sys/leader", nil, out, http.StatusOK)
}

// Health implements pb.SysServer (GET/HEAD sys/health). The body is always
// the health report; the status code follows Vault's rules.
func (s *service) Health(ctx context.Context, in *pb.HealthRequest) (*pb.HealthResponse, error) {
	resp, err := s.sysRequest(ctx, logical.ReadOperation, "sys/health", nil)
	out := &pb.HealthResponse{}
	if err == nil {
		err = dataInto(resp, out)
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	code, err := healthCode(out, in)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, code)
	return out, nil
}

// sysCall runs one sys request and reads its data into out (nil: no
// answer body), recording code on success.
func (s *service) sysCall(ctx context.Context, op logical.Operation, path string, data map[string]any, out proto.Message, code int) error {
	resp, err := s.sysRequest(ctx, op, path, data)
	if err == nil && out != nil {
		err = dataInto(resp, out)
	}
	if err != nil {
		return s.fail(ctx, err)
	}
	s.succeed(ctx, code)
	return nil
}

// protoData turns a request message into request data with Vault's field
// names, as a JSON body would have carried it.
func protoData(m proto.Message) map[string]any {
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil
	}
	data, _ := logical.DecodeData(raw) // protojson made it: an object
	return data
}

// dataInto reads a response's data into a message by Vault's field names.
func dataInto(resp *logical.Response, out proto.Message) error {
	if resp == nil {
		return nil
	}
	raw, err := json.Marshal(resp.Data)
	if err != nil {
		return fmt.Errorf("api: encode %T: %w", out, err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, out); err != nil {
		return fmt.Errorf("api: decode %T: %w", out, err)
	}
	return nil
}

// healthCode is Vault's sys/health status: uninitialised 501, sealed 503,
// performance standby 473, standby 429, active 200, each overridable by a
// query parameter; standbyok and perfstandbyok turn standbys into active.
func healthCode(h *pb.HealthResponse, in *pb.HealthRequest) (int, error) {
	pick := func(name string, v *int32, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		if *v < 200 || *v > 599 {
			return 0, logical.InvalidRequest(name, "status code %d out of range 200-599", *v)
		}
		return int(*v), nil
	}
	code, err := pick("activecode", in.Activecode, http.StatusOK)
	if err != nil {
		return 0, err
	}
	checks := []struct {
		name string
		v    *int32
		def  int
	}{
		{"uninitcode", in.Uninitcode, http.StatusNotImplemented},
		{"sealedcode", in.Sealedcode, http.StatusServiceUnavailable},
		{"performancestandbycode", in.Performancestandbycode, 473},
		{"standbycode", in.Standbycode, http.StatusTooManyRequests},
		{"drsecondarycode", in.Drsecondarycode, 472},
		{"removedcode", in.Removedcode, 530},
	}
	codes := make(map[string]int, len(checks))
	for _, c := range checks {
		if codes[c.name], err = pick(c.name, c.v, c.def); err != nil {
			return 0, err
		}
	}
	switch {
	case !h.GetInitialized():
		return codes["uninitcode"], nil
	case h.GetSealed():
		return codes["sealedcode"], nil
	case h.GetPerformanceStandby() && !in.GetPerfstandbyok():
		return codes["performancestandbycode"], nil
	case h.GetStandby() && !h.GetPerformanceStandby() && !in.GetStandbyok():
		return codes["standbycode"], nil
	}
	return code, nil
}
