package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
)

// grpcConn dials the test server's listener (the same one serving REST)
// with plaintext HTTP/2.
func grpcConn(t testing.TB, ts *testServer) *grpc.ClientConn {
	t.Helper()
	u, err := url.Parse(ts.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-vault-token", token)
}

func TestGRPCSys(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t, api.Options{})
	sys := pb.NewSysClient(grpcConn(t, ts))

	var hdr metadata.MD
	h, err := sys.Health(ctx, &pb.HealthRequest{}, grpc.Header(&hdr))
	if err != nil || h.GetInitialized() || !h.GetSealed() || h.GetServerTimeUtc() == 0 {
		t.Fatalf("health = %v, %v", h, err)
	}
	if got := hdr.Get("x-http-code"); !slices.Equal(got, []string{"501"}) {
		t.Errorf("health x-http-code = %v, want [501]", got)
	}
	if _, err := sys.Init(ctx, &pb.InitRequest{SecretShares: 2, SecretThreshold: 3}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad init: %v", err)
	}
	init, err := sys.Init(ctx, &pb.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil || len(init.GetKeys()) != 1 {
		t.Fatalf("init = %v, %v", init, err)
	}
	st, err := sys.Unseal(ctx, &pb.UnsealRequest{Key: init.GetKeys()[0]})
	if err != nil || st.GetSealed() || st.GetT() != 1 || st.GetClusterId() == "" {
		t.Fatalf("unseal = %v, %v", st, err)
	}
	root := withToken(ctx, init.GetRootToken())

	if _, err := sys.EnableMount(ctx, &pb.EnableMountRequest{Path: "kv", Type: "kv"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("mount without token: %v", err)
	}
	if _, err := sys.EnableMount(root, &pb.EnableMountRequest{
		Path: "kv", Type: "kv", Description: "team", Options: map[string]string{"version": "2"},
		Config: &pb.MountConfig{DefaultLeaseTtl: 3600, MaxLeaseTtl: 7200},
	}); err != nil {
		t.Fatal(err)
	}
	desc := "tuned"
	if _, err := sys.TuneMount(root, &pb.TuneMountRequest{Path: "kv/", Description: &desc, MaxLeaseTtl: ptr(int64(9000))}); err != nil {
		t.Fatal(err)
	}
	mounts, err := sys.ListMounts(root, &pb.ListMountsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var kv *pb.Mount
	for _, m := range mounts.GetMounts() {
		if m.GetPath() == "kv/" {
			kv = m
		}
	}
	if kv == nil || kv.GetType() != "kv" || kv.GetDescription() != "tuned" || kv.GetOptions()["version"] != "2" ||
		kv.GetConfig().GetDefaultLeaseTtl() != 3600 || kv.GetConfig().GetMaxLeaseTtl() != 9000 || kv.GetUuid() == "" {
		t.Fatalf("kv mount = %v (all: %v)", kv, mounts)
	}
	if _, err := sys.DisableMount(root, &pb.DisableMountRequest{Path: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.DisableMount(root, &pb.DisableMountRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("disable without path: %v", err)
	}
	if l, err := sys.Leader(ctx, &pb.LeaderRequest{}); err != nil || !l.GetIsSelf() {
		t.Fatalf("leader = %v, %v", l, err)
	}
	hdr = nil
	if _, err := sys.Seal(root, &pb.SealRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-http-code"); !slices.Equal(got, []string{"204"}) {
		t.Errorf("seal x-http-code = %v", got)
	}
	if s, err := sys.SealStatus(ctx, &pb.SealStatusRequest{}); err != nil || !s.GetSealed() {
		t.Fatalf("seal status = %v, %v", s, err)
	}
}

func TestGRPCLogical(t *testing.T) {
	ctx := context.Background()
	ts, rootToken := unsealed(t)
	lc := pb.NewLogicalClient(grpcConn(t, ts))
	root := withToken(ctx, rootToken)
	bearer := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+rootToken)

	if _, err := lc.Handle(root, &pb.LogicalRequest{Path: "secret/data/app", Operation: "update", Data: []byte(`{"data":{"k":"v"}}`)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ctx      context.Context
		req      *pb.LogicalRequest
		wantCode codes.Code
		wantHTTP string
		check    func(t *testing.T, body []byte)
	}{
		{"read", root, &pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}, codes.OK, "", func(t *testing.T, body []byte) {
			var env kvEnvelope
			if err := json.Unmarshal(body, &env); err != nil || env.Data.Data["k"] != "v" || env.MountType != "kv" {
				t.Errorf("read body = %s (%v)", body, err)
			}
		}},
		{"read with bearer", bearer, &pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}, codes.OK, "", nil},
		{"list", root, &pb.LogicalRequest{Path: "secret/metadata", Operation: "list"}, codes.OK, "", func(t *testing.T, body []byte) {
			var env kvEnvelope
			if err := json.Unmarshal(body, &env); err != nil || !slices.Equal(env.Data.Keys, []string{"app"}) {
				t.Errorf("list body = %s (%v)", body, err)
			}
		}},
		{"read version via data", root, &pb.LogicalRequest{Path: "secret/data/app", Operation: "read", Data: []byte(`{"version":1}`)}, codes.OK, "", nil},
		{"missing token", ctx, &pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}, codes.PermissionDenied, "403", nil},
		{"not found", root, &pb.LogicalRequest{Path: "secret/data/nope", Operation: "read"}, codes.NotFound, "404", nil},
		{"empty list", root, &pb.LogicalRequest{Path: "secret/metadata/none", Operation: "list"}, codes.NotFound, "404", nil},
		{"bad operation", root, &pb.LogicalRequest{Path: "secret/data/app", Operation: "frobnicate"}, codes.InvalidArgument, "400", nil},
		{"missing operation", root, &pb.LogicalRequest{Path: "secret/data/app"}, codes.InvalidArgument, "400", nil},
		{"bad json", root, &pb.LogicalRequest{Path: "secret/data/app", Operation: "update", Data: []byte(`{`)}, codes.InvalidArgument, "400", nil},
		{"delete", root, &pb.LogicalRequest{Path: "secret/data/app", Operation: "delete"}, codes.OK, "204", func(t *testing.T, body []byte) {
			if len(body) != 0 {
				t.Errorf("delete body = %q", body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr metadata.MD
			resp, err := lc.Handle(tc.ctx, tc.req, grpc.Header(&hdr))
			if status.Code(err) != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tc.wantCode)
			}
			if tc.wantHTTP != "" && !slices.Equal(hdr.Get("x-http-code"), []string{tc.wantHTTP}) {
				t.Errorf("x-http-code = %v, want %s", hdr.Get("x-http-code"), tc.wantHTTP)
			}
			if err == nil && resp.GetContentType() != "application/json" {
				t.Errorf("content type = %q", resp.GetContentType())
			}
			if tc.check != nil {
				tc.check(t, resp.GetData())
			}
		})
	}
}
