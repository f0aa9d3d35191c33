package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"google.golang.org/grpc/credentials"
)

// TransportCredentials returns gRPC transport credentials for connections
// that are already cluster TLS: on both sides they accept only a *tls.Conn
// whose handshake completed (from Mux.Listener or Dialer.GRPCDialer) and
// report it as credentials.TLSInfo with PrivacyAndIntegrity, so handlers
// see the peer certificate through peer.FromContext. Any other connection
// is refused with ErrNotTLS, so a misconfigured server never speaks gRPC in
// plaintext.
//
// Server: grpc.NewServer(grpc.Creds(cluster.TransportCredentials())) and
// Serve(mux.Listener(cluster.ProtoForward)). Client:
// grpc.NewClient("passthrough:///"+addr,
// grpc.WithContextDialer(d.GRPCDialer(cluster.ProtoForward)),
// grpc.WithTransportCredentials(cluster.TransportCredentials())).
func TransportCredentials() credentials.TransportCredentials { return tlsPassthrough{} }

type tlsPassthrough struct{}

var _ credentials.TransportCredentials = tlsPassthrough{}

func (tlsPassthrough) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return passthrough(c)
}

func (tlsPassthrough) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return passthrough(c)
}

func (tlsPassthrough) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (tlsPassthrough) Clone() credentials.TransportCredentials { return tlsPassthrough{} }

// OverrideServerName is a no-op: TLS is done before gRPC sees the conn.
func (tlsPassthrough) OverrideServerName(string) error { return nil }

func passthrough(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil, nil, fmt.Errorf("%w: got %T", ErrNotTLS, c)
	}
	cs := tc.ConnectionState()
	if !cs.HandshakeComplete || len(cs.PeerCertificates) == 0 {
		return nil, nil, fmt.Errorf("%w: handshake incomplete or no peer certificate", ErrNotTLS)
	}
	info := credentials.TLSInfo{
		State:          cs,
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
	}
	return tc, info, nil
}
