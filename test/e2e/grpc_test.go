package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// TestGRPCOnSameListener calls a real vaultd over gRPC (h2c on the HTTP
// port): reflection lists the services, Sys answers, and a KV write made
// over gRPC is read back over REST by the OpenBao client.
func TestGRPCOnSameListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := newServer(t)
	init := s.initUnseal(3, 2)
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	stream, err := reflectpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]bool{}
	for _, svc := range resp.GetListServicesResponse().GetService() {
		services[svc.GetName()] = true
	}
	for _, want := range []string{"secretumvault.v1.Sys", "secretumvault.v1.Logical"} {
		if !services[want] {
			t.Fatalf("reflection lists %v, missing %s", services, want)
		}
	}

	sys := pb.NewSysClient(conn)
	st, err := sys.SealStatus(ctx, &pb.SealStatusRequest{})
	if err != nil || st.GetSealed() || st.GetN() != 3 || st.GetT() != 2 {
		t.Fatalf("SealStatus over gRPC: %v, %v", st, err)
	}
	logical := pb.NewLogicalClient(conn)
	authed := metadata.AppendToOutgoingContext(ctx, "x-vault-token", init.RootToken)
	if _, err := logical.Handle(ctx, &pb.LogicalRequest{Path: "sys/mounts", Operation: "read"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("no token over gRPC: %v", err)
	}
	if _, err := logical.Handle(authed, &pb.LogicalRequest{Path: "sys/mounts/secret", Operation: "update", Data: []byte(`{"type":"kv-v2"}`)}); err != nil {
		t.Fatalf("mount over gRPC: %v", err)
	}
	if _, err := logical.Handle(authed, &pb.LogicalRequest{Path: "secret/data/grpc", Operation: "update", Data: []byte(`{"data":{"via":"grpc"}}`)}); err != nil {
		t.Fatalf("kv write over gRPC: %v", err)
	}
	body, err := logical.Handle(authed, &pb.LogicalRequest{Path: "secret/data/grpc", Operation: "read"})
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body.GetData(), &env); err != nil || env.Data.Data["via"] != "grpc" {
		t.Fatalf("kv read over gRPC: %s (%v)", body.GetData(), err)
	}
	got, err := s.client(init.RootToken).KVv2("secret").Get(ctx, "grpc")
	if err != nil || got.Data["via"] != "grpc" {
		t.Fatalf("REST read of the gRPC write: %+v, %v", got, err)
	}
}
