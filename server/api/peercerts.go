package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
)

// Client certificates. The API listener requests, but does not require or
// verify, a client certificate (TLSConfig, ServeListener): verifying it
// against trusted CAs is the cert auth method's job, and clients without
// one keep working. Whatever chain the client presented reaches core as
// logical.Connection.PeerCertificates, leaf first:
//
//   - REST: from the HTTP request's TLS state (restCall.peerCerts);
//   - gRPC on the API listener: from the call's peer (credentials.TLSInfo);
//   - forwarded by a standby: from ForwardedRequest.client_certificates
//     (REST) or the mdForwardedClientCert metadata (proxied gRPC), taken
//     only from a trusted forwarding peer (forward_trust.go), exactly as
//     the client address is. The cluster-port peer's own certificate, a
//     node's, is never taken for a client's.

// mdForwardedClientCert carries the client's chain of a proxied gRPC
// call: one DER certificate per value, leaf first (binary metadata).
const mdForwardedClientCert = "x-secretum-forwarded-client-cert-bin"

// maxForwardedCerts bounds the chain a standby may forward; a TLS client
// presenting more is refused by no one, but no sane chain is that long.
const maxForwardedCerts = 32

// errForwardedCert reports an unparsable or oversized forwarded chain.
var errForwardedCert = errors.New("api: forwarded client certificate chain")

// tlsPeerCerts is the chain of a TLS connection state (nil without TLS).
func tlsPeerCerts(state *tls.ConnectionState) []*x509.Certificate {
	if state == nil || len(state.PeerCertificates) == 0 {
		return nil
	}
	return state.PeerCertificates
}

// authInfoCerts is the chain of a gRPC peer's auth info (nil unless TLS).
func authInfoCerts(info credentials.AuthInfo) []*x509.Certificate {
	if ti, ok := info.(credentials.TLSInfo); ok {
		return tlsPeerCerts(&ti.State)
	}
	return nil
}

// certsDER returns the DER encodings of certs, in order.
func certsDER(certs []*x509.Certificate) [][]byte {
	if len(certs) == 0 {
		return nil
	}
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}

// parseCertsDER parses a forwarded chain.
func parseCertsDER(ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, nil
	}
	if len(ders) > maxForwardedCerts {
		return nil, fmt.Errorf("%w: %d certificates, at most %d", errForwardedCert, len(ders), maxForwardedCerts)
	}
	out := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", errForwardedCert, i, err)
		}
		out[i] = c
	}
	return out, nil
}

// setForwardedCerts puts certs into md under mdForwardedClientCert,
// replacing whatever the client sent under that key.
func setForwardedCerts(md metadata.MD, certs []*x509.Certificate) {
	md.Delete(mdForwardedClientCert)
	for _, der := range certsDER(certs) {
		md.Append(mdForwardedClientCert, string(der))
	}
}

// forwardedCertsFrom parses the chain of a proxied gRPC call's metadata.
func forwardedCertsFrom(md metadata.MD) ([]*x509.Certificate, error) {
	vals := md.Get(mdForwardedClientCert)
	ders := make([][]byte, len(vals))
	for i, v := range vals {
		ders[i] = []byte(v)
	}
	return parseCertsDER(ders)
}
