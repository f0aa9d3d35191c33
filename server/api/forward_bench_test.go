package api_test

import (
	"context"
	"testing"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
)

// BenchmarkForwardedRead is BenchmarkHTTPRead's kv-v2 read sent to a
// standby: HTTP/1.1 to the standby, then Forwarding.Forward over a real
// TCP gRPC connection to the active node, which runs it through its REST
// stack (plaintext here; vaultd adds mutual TLS).
func BenchmarkForwardedRead(b *testing.B) {
	active := startNode(b, api.Options{}, 1, 1, true)
	standby := startStandby(b, newRole(true, active.clusterAddr), api.Options{})
	benchRequest(b, active.testServer, "PUT", "/v1/secret/data/bench", active.root, `{"data":{"user":"alice","password":"s3cr3t"}}`, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		benchRequest(b, standby.testServer, "GET", "/v1/secret/data/bench", active.root, "", 200)
	}
}

// BenchmarkForwardedGRPCRead is BenchmarkGRPCRead's read sent to a
// standby, which proxies the Logical call to the active node.
func BenchmarkForwardedGRPCRead(b *testing.B) {
	active := startNode(b, api.Options{}, 1, 1, true)
	standby := startStandby(b, newRole(true, active.clusterAddr), api.Options{})
	benchRequest(b, active.testServer, "PUT", "/v1/secret/data/bench", active.root, `{"data":{"user":"alice"}}`, 200)
	lc := pb.NewLogicalClient(grpcConn(b, standby.testServer))
	ctx := withToken(context.Background(), active.root)
	req := &pb.LogicalRequest{Path: "secret/data/bench", Operation: "read"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := lc.Handle(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
