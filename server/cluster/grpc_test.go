package cluster_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// peerHealth is a health server that records the cluster peer of each call.
type peerHealth struct {
	*health.Server
	peers chan *peer.Peer
}

func (h *peerHealth) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	p, _ := peer.FromContext(ctx)
	h.peers <- p
	return h.Server.Check(ctx, req)
}

func TestGRPCForwardingOverMux(t *testing.T) {
	ca := mustCA(t)
	active := newNode(t, ca, "active", "127.0.0.1")
	standby := newNode(t, ca, "standby", "127.0.0.2")

	srv := grpc.NewServer(grpc.Creds(cluster.TransportCredentials()))
	hs := &peerHealth{Server: health.NewServer(), peers: make(chan *peer.Peer, 4)}
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(active.mux.Listener(cluster.ProtoForward)) }()
	defer srv.Stop()

	cc, err := grpc.NewClient("passthrough:///"+active.mux.Addr().String(),
		grpc.WithContextDialer(standby.dialer.GRPCDialer(cluster.ProtoForward)),
		grpc.WithTransportCredentials(cluster.TransportCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(ctxT(t), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("status %v", resp.Status)
	}
	p := <-hs.peers
	if ip := p.Addr.(*net.TCPAddr).IP.String(); ip != "127.0.0.2" {
		t.Fatalf("gRPC peer address %s, want 127.0.0.2", p.Addr)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("AuthInfo %T, want credentials.TLSInfo", p.AuthInfo)
	}
	if id := cluster.PeerNodeID(info.State); id != "standby" {
		t.Fatalf("gRPC peer node %q, want standby", id)
	}
}

func TestTransportCredentialsRefusePlainConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	creds := cluster.TransportCredentials()
	if _, _, err := creds.ServerHandshake(a); !errors.Is(err, cluster.ErrNotTLS) {
		t.Fatalf("server: err = %v, want ErrNotTLS", err)
	}
	if _, _, err := creds.ClientHandshake(context.Background(), "x", b); !errors.Is(err, cluster.ErrNotTLS) {
		t.Fatalf("client: err = %v, want ErrNotTLS", err)
	}
}
