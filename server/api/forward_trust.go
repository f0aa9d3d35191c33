package api

import (
	"context"
	"crypto/tls"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	pb "github.com/secretumvault/secretumvault/proto/secretumvault/v1"
)

// Forwarding, active side: which standbys may speak for their clients.
// A forwarded request carries the client's address, its TLS certificate
// chain and the standby's request id (ADR 0004). The active node takes them only from a peer that
// Options.ForwardPeerTrusted accepts (vaultd: a current member of the raft
// configuration); from any other cluster-port peer the address becomes the
// peer's own and the request id a fresh one. The two interceptors below
// run first on the forwarding server, before clusterInterceptor and the
// Forward handler read those facts.

// forwarderTrusted reports whether the peer of ctx's call may speak for
// its clients.
func (s *Server) forwarderTrusted(ctx context.Context) bool {
	if s.opts.ForwardPeerTrusted == nil {
		return true
	}
	var state *tls.ConnectionState
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			state = &ti.State
		}
	}
	if s.opts.ForwardPeerTrusted(ctx, state) {
		return true
	}
	s.log.WarnContext(ctx, "api: forwarded request from a cluster-port peer that is not a current member: its client address and request id are ignored", "peer", peerHost(ctx))
	return false
}

// trustUnary drops the forwarded request id, client address and client
// chain from the metadata of a proxied gRPC call whose peer is not trusted.
func (s *Server) trustUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !s.forwarderTrusted(ctx) {
		md, _ := metadata.FromIncomingContext(ctx)
		md = md.Copy()
		md.Delete(mdForwardedFor)
		md.Delete(mdForwardedRequestID)
		md.Delete(mdForwardedClientCert)
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	return handler(ctx, req)
}

// trustStream replaces the client address, chain and request id of the
// ForwardedRequest messages of an untrusted peer.
func (s *Server) trustStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.forwarderTrusted(ss.Context()) {
		return handler(srv, ss)
	}
	return handler(srv, &untrustedStream{ServerStream: ss, peerAddr: peerHost(ss.Context())})
}

// untrustedStream rewrites what an untrusted peer claims about the
// requests it forwards.
type untrustedStream struct {
	grpc.ServerStream
	peerAddr string
}

// RecvMsg implements grpc.ServerStream.
func (u *untrustedStream) RecvMsg(m any) error {
	if err := u.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if fr, ok := m.(*pb.ForwardedRequest); ok {
		fr.RemoteAddr, fr.RequestId, fr.ClientCertificates = u.peerAddr, "", nil
	}
	return nil
}

// peerHost is the host of the transport peer of ctx's call ("" if none).
func peerHost(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return remoteHost(p.Addr.String())
	}
	return ""
}
