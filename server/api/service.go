package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/secretumvault/secretumvault/engines/logical"
	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// service is the one implementation of the Sys and Logical services, called
// by grpc-go for gRPC clients and in-process by the gateway for REST
// clients.
type service struct {
	pb.UnimplementedSysServer
	pb.UnimplementedLogicalServer

	core Core
	log  *slog.Logger
}

var (
	_ pb.SysServer     = (*service)(nil)
	_ pb.LogicalServer = (*service)(nil)
)

// fail turns err into the status error both transports render and
// records the status.
func (s *service) fail(ctx context.Context, err error) error {
	// The edge (REST handler, gRPC interceptor) logs withheld causes with
	// the request id: logFailure.
	se := toStatusError(err)
	noteStatus(ctx, se.httpStatus)
	setHTTPStatus(ctx, se.httpStatus)
	return se
}

// succeed records a success status; 200 needs no header.
func (s *service) succeed(ctx context.Context, code int) {
	noteStatus(ctx, code)
	if code != http.StatusOK {
		setHTTPStatus(ctx, code)
	}
}

// clientToken is the request's token: x-vault-token metadata (from the
// X-Vault-Token header over REST) or an Authorization bearer token.
func clientToken(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(tokenKey) {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	for _, v := range md.Get("authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

// connection is the client's address and TLS certificate chain: for a
// request forwarded by a standby, what the standby saw (set only on the
// cluster port, from a trusted peer); otherwise the HTTP peer's for REST
// calls, the gRPC peer's for gRPC calls. Client-supplied forwarding
// headers are never trusted, and the certificate of a cluster-port peer
// (a node) is never taken for a client's.
func connection(ctx context.Context) *logical.Connection {
	f := forwardedFrom(ctx)
	if f != nil && f.remoteAddr != "" {
		return &logical.Connection{RemoteAddr: f.remoteAddr, PeerCertificates: f.peerCerts}
	}
	if rc := restCallFrom(ctx); rc != nil {
		return rc.connection()
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c := &logical.Connection{RemoteAddr: remoteHost(p.Addr.String())}
		if f == nil {
			c.PeerCertificates = authInfoCerts(p.AuthInfo)
		}
		return c
	}
	return nil
}
