package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Dialer opens outbound cluster connections: TCP from the node's own
// cluster IP, then a mutual TLS 1.3 handshake with the current node
// identity, then a check of the negotiated ALPN protocol.
type Dialer struct {
	local *net.TCPAddr // nil: any local address
	id    func() *NodeIdentity
	check peerCheck
}

// NewDialer returns a Dialer that dials from localIP (an IP literal, or a
// host:port whose host is one, the port being ignored; "" or an
// unspecified address means any) and authenticates with the identity id
// returns at each dial (Mux.Identity fits). id returning nil makes dials
// fail with ErrNoIdentity.
func NewDialer(localIP string, id func() *NodeIdentity) (*Dialer, error) {
	d := &Dialer{id: id}
	if localIP == "" {
		return d, nil
	}
	host := localIP
	if h, _, err := net.SplitHostPort(localIP); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("%w: %q", ErrBadLocalIP, localIP)
	}
	if !ip.IsUnspecified() {
		d.local = &net.TCPAddr{IP: ip}
	}
	return d, nil
}

// SetPeerCheck installs check, consulted on every outbound handshake after
// the server's certificate has been verified (nil removes it).
func (d *Dialer) SetPeerCheck(check PeerCheck) { d.check.set(check) }

// DialContext connects to the cluster port at addr and completes a TLS
// handshake negotiating proto. The returned *tls.Conn is authenticated both
// ways, except that with TLS 1.3 a server that rejects this node's client
// certificate is only noticed on the first read, which then fails. ctx
// bounds the whole dial; without a deadline, the handshake is bounded by
// DefaultHandshakeTimeout.
func (d *Dialer) DialContext(ctx context.Context, addr, proto string) (net.Conn, error) {
	var id *NodeIdentity
	if d.id != nil {
		id = d.id()
	}
	if id == nil {
		return nil, fmt.Errorf("cluster: dial %s: %w", addr, ErrNoIdentity)
	}
	nd := net.Dialer{}
	if d.local != nil {
		nd.LocalAddr = d.local
	}
	raw, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s: %w", addr, err)
	}
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > DefaultHandshakeTimeout {
		hctx, cancel = context.WithTimeout(ctx, DefaultHandshakeTimeout)
	}
	defer cancel()
	cfg := id.ClientConfig(proto)
	cfg.VerifyConnection = d.check.verify
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("cluster: TLS handshake with %s: %w", addr, err)
	}
	if got := tc.ConnectionState().NegotiatedProtocol; got != proto {
		_ = raw.Close()
		return nil, fmt.Errorf("cluster: dial %s: %w: want %q, got %q", addr, ErrProtoMismatch, proto, got)
	}
	return tc, nil
}

// GRPCDialer returns a function for grpc.WithContextDialer that dials
// proto (normally ProtoForward) with DialContext. The connections it
// returns are already mutual TLS: pair it with
// grpc.WithTransportCredentials(TransportCredentials()), not with gRPC's
// own TLS credentials, which would wrap TLS in TLS.
func (d *Dialer) GRPCDialer(proto string) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, addr, proto)
	}
}
