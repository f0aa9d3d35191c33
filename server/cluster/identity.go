package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"
)

// NodeIdentity is a node's cluster credentials: its certificate and key, and
// the CA pool that peers' certificates must chain to. Build it with
// NewIdentity or CA.IssueIdentity; it must not be modified afterwards.
type NodeIdentity struct {
	// Cert is the node certificate with its private key.
	Cert tls.Certificate
	// CAPool holds the cluster CA certificate.
	CAPool *x509.CertPool
}

// NewNodeKey generates an ECDSA P-256 node key.
func NewNodeKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster: generate node key: %w", err)
	}
	return key, nil
}

// MarshalNodeKey encodes a node key as PEM PKCS#8 (secret: keep it behind
// the barrier or in a 0600 file).
func MarshalNodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("cluster: marshal node key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseNodeKey decodes a node key encoded by MarshalNodeKey.
func ParseNodeKey(data []byte) (*ecdsa.PrivateKey, error) {
	der, err := pemBytes(data, "PRIVATE KEY")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCert, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: parse key: %w", ErrInvalidCert, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T, want ECDSA", ErrInvalidCert, k)
	}
	return key, nil
}

// NewIdentity builds a NodeIdentity from the node key, its certificate
// (DER, as returned by CA.Issue) and the PEM CA certificate. It fails with
// ErrInvalidCert if the certificate does not match the key or does not
// chain to the CA for both server and client authentication.
func NewIdentity(key *ecdsa.PrivateKey, certDER, caPEM []byte) (*NodeIdentity, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", ErrInvalidCert)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%w: parse certificate: %w", ErrInvalidCert, err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("%w: certificate does not match key", ErrInvalidCert)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%w: no CA certificate in PEM", ErrInvalidCert)
	}
	_, err = cert.Verify(x509.VerifyOptions{
		DNSName:   ServerName,
		Roots:     pool,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCert, err)
	}
	return &NodeIdentity{
		Cert:   tls.Certificate{Certificate: [][]byte{certDER}, PrivateKey: key, Leaf: cert},
		CAPool: pool,
	}, nil
}

// IssueIdentity generates a node key, issues it a certificate valid for
// DefaultCertTTL and returns the resulting identity. Used by the node that
// initialises the cluster; joining nodes use NewNodeKey, NewCSR and
// NewIdentity instead so their key never leaves them.
func (c *CA) IssueIdentity(nodeID string) (*NodeIdentity, error) {
	return c.IssueIdentityTTL(nodeID, DefaultCertTTL)
}

// IssueIdentityTTL is IssueIdentity with a certificate valid for ttl.
func (c *CA) IssueIdentityTTL(nodeID string, ttl time.Duration) (*NodeIdentity, error) {
	key, err := NewNodeKey()
	if err != nil {
		return nil, err
	}
	der, err := c.Issue(nodeID, key.Public(), ttl)
	if err != nil {
		return nil, err
	}
	return NewIdentity(key, der, c.certPEM)
}

// NodeID returns the node id the identity's certificate was issued for.
func (id *NodeIdentity) NodeID() string {
	if id.Cert.Leaf == nil {
		return ""
	}
	return id.Cert.Leaf.Subject.CommonName
}

// NotAfter returns when the identity's certificate expires.
func (id *NodeIdentity) NotAfter() time.Time {
	if id.Cert.Leaf == nil {
		return time.Time{}
	}
	return id.Cert.Leaf.NotAfter
}

// ServerConfig returns a TLS 1.3-only server configuration that requires a
// client certificate chaining to the cluster CA and offers protos via ALPN.
func (id *NodeIdentity) ServerConfig(protos []string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    id.CAPool,
		NextProtos:   append([]string(nil), protos...),
	}
}

// ClientConfig returns a TLS 1.3-only client configuration that presents
// the node certificate, verifies the server against the cluster CA under
// ServerName, and asks for proto via ALPN.
func (id *NodeIdentity) ClientConfig(proto string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Cert},
		RootCAs:      id.CAPool,
		ServerName:   ServerName,
		NextProtos:   []string{proto},
	}
}

// PeerNodeID returns the node id of the peer of a completed cluster TLS
// connection (the subject of its verified certificate), or "" if the peer
// presented no verified certificate.
func PeerNodeID(cs tls.ConnectionState) string {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	return cs.VerifiedChains[0][0].Subject.CommonName
}

// Key returns the identity's private key (for a renewal of its
// certificate), or nil if it is not an ECDSA key.
func (id *NodeIdentity) Key() *ecdsa.PrivateKey {
	key, _ := id.Cert.PrivateKey.(*ecdsa.PrivateKey)
	return key
}
