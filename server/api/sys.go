package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/core"
)

const sysMount = "sys/"

// InitStatus implements pb.SysServer (GET sys/init).
func (s *service) InitStatus(ctx context.Context, _ *pb.InitStatusRequest) (*pb.InitStatusResponse, error) {
	noteCall(ctx, string(logical.ReadOperation), sysMount)
	st, err := s.core.SealStatus(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusOK)
	return &pb.InitStatusResponse{Initialized: st.Initialized}, nil
}

// Init implements pb.SysServer (PUT/POST sys/init).
func (s *service) Init(ctx context.Context, in *pb.InitRequest) (*pb.InitResponse, error) {
	noteCall(ctx, string(logical.UpdateOperation), sysMount)
	if in.GetRecoveryThreshold() != 0 || len(in.GetRecoveryPgpKeys()) > 0 {
		return nil, s.fail(ctx, logical.InvalidRequest("recovery_threshold", "recovery keys are only used with auto-unseal, which is not supported"))
	}
	res, err := s.core.Initialize(ctx, &core.InitParams{
		SecretShares:    int(in.GetSecretShares()),
		SecretThreshold: int(in.GetSecretThreshold()),
		PGPKeys:         in.GetPgpKeys(),
		RootTokenPGPKey: in.GetRootTokenPgpKey(),
		StoredShares:    int(in.GetStoredShares()),
		RecoveryShares:  int(in.GetRecoveryShares()),
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusOK)
	return &pb.InitResponse{Keys: res.Keys, KeysBase64: res.KeysB64, RootToken: res.RootToken}, nil
}

// Unseal implements pb.SysServer (PUT/POST sys/unseal).
func (s *service) Unseal(ctx context.Context, in *pb.UnsealRequest) (*pb.SealStatusResponse, error) {
	noteCall(ctx, string(logical.UpdateOperation), sysMount)
	var (
		st  *core.SealStatus
		err error
	)
	switch {
	case in.GetMigrate():
		err = logical.InvalidRequest("migrate", "seal migration is not supported")
	case in.GetReset_():
		st, err = s.core.UnsealReset(ctx)
	case in.GetKey() == "":
		err = logical.InvalidRequest("", "'key' must be specified in request body as JSON, or 'reset' set to true")
	default:
		var key []byte
		if key, err = decodeUnsealKey(in.GetKey()); err == nil {
			st, err = s.core.Unseal(ctx, key)
		}
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusOK)
	return sealStatusProto(st), nil
}

// decodeUnsealKey accepts a key share in hex or base64, as Vault does.
func decodeUnsealKey(k string) ([]byte, error) {
	if key, err := hex.DecodeString(k); err == nil {
		return key, nil
	}
	if key, err := base64.StdEncoding.DecodeString(k); err == nil {
		return key, nil
	}
	return nil, logical.InvalidRequest("", "'key' must be a valid hex or base64 string")
}

// SealStatus implements pb.SysServer (GET sys/seal-status).
func (s *service) SealStatus(ctx context.Context, _ *pb.SealStatusRequest) (*pb.SealStatusResponse, error) {
	noteCall(ctx, string(logical.ReadOperation), sysMount)
	st, err := s.core.SealStatus(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusOK)
	return sealStatusProto(st), nil
}

func sealStatusProto(st *core.SealStatus) *pb.SealStatusResponse {
	out := &pb.SealStatusResponse{
		Type:         st.Type,
		Initialized:  st.Initialized,
		Sealed:       st.Sealed,
		T:            int32(st.T),
		N:            int32(st.N),
		Progress:     int32(st.Progress),
		Nonce:        st.Nonce,
		Version:      st.Version,
		BuildDate:    st.BuildDate,
		Migration:    st.Migration,
		RecoverySeal: st.RecoverySeal,
		ClusterName:  optionalString(st.ClusterName),
		ClusterId:    optionalString(st.ClusterID),
		StorageType:  optionalString(st.StorageType),
	}
	return out
}

// Seal implements pb.SysServer (PUT/POST sys/seal, 204).
func (s *service) Seal(ctx context.Context, _ *pb.SealRequest) (*pb.SealResponse, error) {
	noteCall(ctx, string(logical.UpdateOperation), sysMount)
	if err := s.core.Seal(ctx, clientToken(ctx)); err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusNoContent)
	return &pb.SealResponse{}, nil
}

// Leader implements pb.SysServer (GET sys/leader).
func (s *service) Leader(ctx context.Context, _ *pb.LeaderRequest) (*pb.LeaderResponse, error) {
	noteCall(ctx, string(logical.ReadOperation), sysMount)
	ls, err := s.core.Leader(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, http.StatusOK)
	return &pb.LeaderResponse{
		HaEnabled:            ls.HAEnabled,
		IsSelf:               ls.IsSelf,
		ActiveTime:           ls.ActiveTime.UTC().Format(time.RFC3339Nano),
		LeaderAddress:        ls.LeaderAddress,
		LeaderClusterAddress: ls.LeaderClusterAddress,
	}, nil
}

// Health implements pb.SysServer (GET/HEAD sys/health). The body is always
// the health report; the status code follows Vault's rules.
func (s *service) Health(ctx context.Context, in *pb.HealthRequest) (*pb.HealthResponse, error) {
	noteCall(ctx, string(logical.ReadOperation), sysMount)
	h := s.core.Health(ctx)
	code, err := healthCode(h, in)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.succeed(ctx, code)
	return &pb.HealthResponse{
		Initialized:                h.Initialized,
		Sealed:                     h.Sealed,
		Standby:                    h.Standby,
		PerformanceStandby:         h.PerformanceStandby,
		ReplicationPerformanceMode: h.ReplicationPerformanceMode,
		ReplicationDrMode:          h.ReplicationDRMode,
		ServerTimeUtc:              h.ServerTimeUTC,
		Version:                    h.Version,
		ClusterName:                optionalString(h.ClusterName),
		ClusterId:                  optionalString(h.ClusterID),
	}, nil
}

// healthCode is Vault's sys/health status: uninitialised 501, sealed 503,
// performance standby 473, standby 429, active 200, each overridable by a
// query parameter; standbyok and perfstandbyok turn standbys into active.
func healthCode(h *core.HealthStatus, in *pb.HealthRequest) (int, error) {
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
	case !h.Initialized:
		return codes["uninitcode"], nil
	case h.Sealed:
		return codes["sealedcode"], nil
	case h.PerformanceStandby && !in.GetPerfstandbyok():
		return codes["performancestandbycode"], nil
	case h.Standby && !h.PerformanceStandby && !in.GetStandbyok():
		return codes["standbycode"], nil
	}
	return code, nil
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
