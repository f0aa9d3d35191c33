package api_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
)

// TestForwardedFactsNeedATrustedPeer: the active node uses the client
// address and request id a standby forwards only if ForwardPeerTrusted
// accepts the standby; from any other cluster-port peer, for REST
// forwarding and proxied gRPC alike, the core sees the peer's own address
// and a fresh id.
func TestForwardedFactsNeedATrustedPeer(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		name := "untrusted peer"
		if trusted {
			name = "trusted peer"
		}
		t.Run(name, func(t *testing.T) {
			var asked atomic.Int32
			active := startNode(t, api.Options{ForwardPeerTrusted: func(_ context.Context, peer *tls.ConnectionState) bool {
				asked.Add(1)
				return trusted && peer == nil // plain TCP here: no TLS state
			}}, 1, 1, true)
			active.mustJSON(t, "PUT", "/v1/secret/data/app", active.root, `{"data":{"k":"v"}}`, 200, nil)
			conn, err := grpc.NewClient(active.clusterAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			ctx := context.Background()

			stream, err := pb.NewForwardingClient(conn).Forward(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(&pb.ForwardedRequest{Method: "GET", Url: "/v1/secret/data/app",
				Headers: []*pb.HTTPHeader{{Name: "X-Vault-Token", Values: []string{active.root}}}, RemoteAddr: "10.1.2.3", RequestId: "req-claimed-1"}); err != nil {
				t.Fatal(err)
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			var status int32
			for {
				msg, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if status == 0 {
					status = msg.GetStatus()
				}
			}
			rest := active.rec.last(t, "secret/data/app")

			md := metadata.Pairs("x-vault-token", active.root,
				"x-secretum-forwarded-request-id", "req-claimed-2", "x-secretum-forwarded-for", "10.9.9.9")
			if _, err := pb.NewLogicalClient(conn).Handle(metadata.NewOutgoingContext(ctx, md),
				&pb.LogicalRequest{Path: "secret/data/app", Operation: "read"}); err != nil {
				t.Fatal(err)
			}
			proxied := active.rec.last(t, "secret/data/app")

			if status != 200 || asked.Load() < 2 {
				t.Fatalf("status %d, hook asked %d times", status, asked.Load())
			}
			if trusted {
				if rest.remoteAddr != "10.1.2.3" || rest.id != "req-claimed-1" || proxied.remoteAddr != "10.9.9.9" || proxied.id != "req-claimed-2" {
					t.Fatalf("a trusted standby's facts were not used: REST %+v, gRPC %+v", rest, proxied)
				}
				return
			}
			if rest.remoteAddr != "127.0.0.1" || rest.id == "req-claimed-1" || rest.id == "" {
				t.Errorf("REST forward from an untrusted peer: core saw %+v, want the peer's address and a fresh id", rest)
			}
			if proxied.remoteAddr != "127.0.0.1" || proxied.id == "req-claimed-2" || proxied.id == "" {
				t.Errorf("proxied gRPC from an untrusted peer: core saw %+v, want the peer's address and a fresh id", proxied)
			}
			if !strings.Contains(active.logs.String(), "not a current member") {
				t.Errorf("untrusted forward not logged:\n%s", active.logs)
			}
		})
	}
}
