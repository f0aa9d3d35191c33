package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
	"github.com/secretumvault/secretumvault/server/api"
)

// TestForwardingServer calls the active node's cluster port as a standby
// does and checks that it uses the request id and client address it is
// given there (and only there: see TestForwardClientCannotClaimForwarding).
func TestForwardingServer(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	active.mustJSON(t, "PUT", "/v1/secret/data/app", active.root, `{"data":{"k":"v"}}`, 200, nil)
	conn, err := grpc.NewClient(active.clusterAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx := context.Background()
	tokenHeader := []*pb.HTTPHeader{{Name: "X-Vault-Token", Values: []string{active.root}}}

	tests := []struct {
		name       string
		req        *pb.ForwardedRequest
		wantStatus int32
		wantCode   codes.Code
	}{
		{"read", &pb.ForwardedRequest{Method: "GET", Url: "/v1/secret/data/app", Headers: tokenHeader,
			RemoteAddr: "10.1.2.3", RequestId: "req-fixed-1"}, 200, codes.OK},
		{"no token", &pb.ForwardedRequest{Method: "GET", Url: "/v1/secret/data/app",
			RemoteAddr: "10.1.2.4", RequestId: "req-fixed-2"}, 403, codes.OK},
		{"bad method", &pb.ForwardedRequest{Method: "G ET", Url: "/v1/secret/data/app"}, 0, codes.InvalidArgument},
		{"absolute url", &pb.ForwardedRequest{Method: "GET", Url: "http://elsewhere/v1/secret/data/app"}, 0, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := pb.NewForwardingClient(conn).Forward(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(tc.req); err != nil {
				t.Fatal(err)
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			var first *pb.ForwardedResponse
			var body []byte
			for {
				msg, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					if status.Code(err) != tc.wantCode {
						t.Fatalf("err = %v, want %v", err, tc.wantCode)
					}
					return
				}
				if first == nil {
					first = msg
				}
				body = append(body, msg.GetBody()...)
			}
			if tc.wantCode != codes.OK || first.GetStatus() != tc.wantStatus {
				t.Fatalf("status %d %s, want %d / %v", first.GetStatus(), body, tc.wantStatus, tc.wantCode)
			}
			seen := active.rec.last(t, "secret/data/app")
			if seen.id != tc.req.GetRequestId() || seen.remoteAddr != tc.req.GetRemoteAddr() {
				t.Errorf("core saw %+v, want id %q from %q", seen, tc.req.GetRequestId(), tc.req.GetRemoteAddr())
			}
			if tc.wantStatus == 200 {
				var env kvEnvelope
				if err := json.Unmarshal(body, &env); err != nil || env.RequestID != "req-fixed-1" || env.Data.Data["k"] != "v" {
					t.Errorf("body %s", body)
				}
			}
		})
	}

	t.Run("proxied gRPC call", func(t *testing.T) {
		md := metadata.Pairs("x-vault-token", active.root,
			"x-secretum-forwarded-request-id", "req-fixed-3", "x-secretum-forwarded-for", "10.9.9.9")
		out, err := pb.NewLogicalClient(conn).Handle(metadata.NewOutgoingContext(ctx, md),
			&pb.LogicalRequest{Path: "secret/data/app", Operation: "read"})
		if err != nil {
			t.Fatal(err)
		}
		var env kvEnvelope
		if err := json.Unmarshal(out.GetData(), &env); err != nil || env.RequestID != "req-fixed-3" {
			t.Errorf("envelope %s", out.GetData())
		}
		if seen := active.rec.last(t, "secret/data/app"); seen.remoteAddr != "10.9.9.9" {
			t.Errorf("core saw %+v", seen)
		}
	})
}

// TestForwardCredentials checks that Options.ForwardCredentials secure both
// ends of forwarding: a server whose credentials refuse the connection
// leaves the standby without an active node.
func TestForwardCredentials(t *testing.T) {
	var clientHS, serverHS atomic.Int32
	active := startNode(t, api.Options{ForwardCredentials: &handshakeCreds{TransportCredentials: insecure.NewCredentials(), count: &serverHS}}, 1, 1, true)
	standby := startStandby(t, newRole(true, active.clusterAddr),
		api.Options{ForwardCredentials: &handshakeCreds{TransportCredentials: insecure.NewCredentials(), count: &clientHS}})
	standby.mustJSON(t, "PUT", "/v1/secret/data/c", active.root, `{"data":{"k":"v"}}`, 200, nil)
	if clientHS.Load() == 0 || serverHS.Load() == 0 {
		t.Errorf("handshakes: standby %d, active %d; want both used", clientHS.Load(), serverHS.Load())
	}

	refusing := startNode(t, api.Options{ForwardCredentials: &handshakeCreds{TransportCredentials: insecure.NewCredentials(), count: &serverHS, refuse: true}}, 1, 1, true)
	other := startStandby(t, newRole(true, refusing.clusterAddr), api.Options{})
	if r := other.do(t, "GET", "/v1/secret/data/c", refusing.root, ""); r.status != 503 {
		t.Errorf("refused connection: %d %s, want 503", r.status, r.body)
	}
}

// handshakeCreds counts handshakes of insecure credentials and can refuse
// the server side.
type handshakeCreds struct {
	credentials.TransportCredentials
	count  *atomic.Int32
	refuse bool
}

func (c *handshakeCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c.count.Add(1)
	return c.TransportCredentials.ClientHandshake(ctx, authority, conn)
}

func (c *handshakeCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c.count.Add(1)
	if c.refuse {
		return nil, nil, errors.New("not a cluster connection")
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c *handshakeCreds) Clone() credentials.TransportCredentials { return c }
