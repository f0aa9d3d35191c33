package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// CA is the cluster certificate authority: an ECDSA P-256 key and its
// self-signed certificate. It is immutable and safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	pool    *x509.CertPool
}

// caJSON is the marshalled form of a CA: PEM certificate and PEM PKCS#8 key.
type caJSON struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// NewCA generates a new cluster CA: ECDSA P-256, self-signed, valid for ten
// years, allowed to sign leaf certificates only (path length 0).
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "secretumvault-cluster-ca"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("cluster: create CA certificate: %w", err)
	}
	return newCA(der, key)
}

// newCA builds a CA from its certificate DER and key, checking they match.
func newCA(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: parse certificate: %w", ErrInvalidCA, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: certificate is not a CA", ErrInvalidCA)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("%w: key does not match certificate", ErrInvalidCA)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:     key,
		pool:    pool,
	}, nil
}

// Marshal encodes the CA, private key included, as JSON holding a PEM
// certificate and a PEM PKCS#8 key. The result is secret: store it only
// behind the barrier.
func (c *CA) Marshal() ([]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		return nil, fmt.Errorf("cluster: marshal CA key: %w", err)
	}
	return json.Marshal(caJSON{
		Cert: string(c.certPEM),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	})
}

// UnmarshalCA decodes a CA encoded by Marshal. It fails with ErrInvalidCA
// if the data does not parse, the certificate is not a CA, or the key does
// not match the certificate.
func UnmarshalCA(data []byte) (*CA, error) {
	var j caJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCA, err)
	}
	certDER, err := pemBytes([]byte(j.Cert), "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCA, err)
	}
	keyDER, err := pemBytes([]byte(j.Key), "PRIVATE KEY")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCA, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("%w: parse key: %w", ErrInvalidCA, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T, want ECDSA", ErrInvalidCA, k)
	}
	return newCA(certDER, key)
}

// CertPEM returns the PEM-encoded CA certificate (public; safe to hand to a
// joining node). The caller must not modify it.
func (c *CA) CertPEM() []byte { return c.certPEM }

// Pool returns a certificate pool holding only the CA certificate. The
// caller must not modify it.
func (c *CA) Pool() *x509.CertPool { return c.pool }

// Issue signs a node certificate for pub valid for ttl (clipped to the CA's
// own expiry) and returns it DER-encoded. The certificate names nodeID as
// its subject and carries the DNS SANs ServerName and nodeID; it is usable
// for both TLS server and client authentication.
func (c *CA) Issue(nodeID string, pub crypto.PublicKey, ttl time.Duration) ([]byte, error) {
	if err := ValidateNodeID(nodeID); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("cluster: issue %q: ttl %v must be positive", nodeID, ttl)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.Add(ttl)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeID},
		DNSNames:     []string{ServerName, nodeID},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		return nil, fmt.Errorf("cluster: issue certificate for %q: %w", nodeID, err)
	}
	return der, nil
}

// IssueCSR checks the signature of a DER-encoded certificate request (proof
// that the requester holds the private key) and issues a node certificate
// for its public key, like Issue. The node id comes from the caller, not
// from the request's subject.
func (c *CA) IssueCSR(nodeID string, csrDER []byte, ttl time.Duration) ([]byte, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("cluster: parse certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("cluster: certificate request signature: %w", err)
	}
	return c.Issue(nodeID, csr.PublicKey, ttl)
}

// NewCSR returns a DER-encoded certificate request for key naming nodeID,
// for a joining node to send to the leader (see CA.IssueCSR).
func NewCSR(nodeID string, key *ecdsa.PrivateKey) ([]byte, error) {
	if err := ValidateNodeID(nodeID); err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: nodeID}}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("cluster: create certificate request: %w", err)
	}
	return der, nil
}

// randomSerial returns a random positive 128-bit certificate serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("cluster: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// MaxNodeIDLength is the longest node id ValidateNodeID accepts.
const MaxNodeIDLength = 128

// ValidateNodeID accepts 1 to MaxNodeIDLength characters from
// [A-Za-z0-9._-] (the characters of a DNS name, which the certificate
// carries as a SAN) and reports anything else as ErrInvalidNodeID.
func ValidateNodeID(id string) error {
	if id == "" || len(id) > MaxNodeIDLength {
		return fmt.Errorf("%w: length must be 1-%d", ErrInvalidNodeID, MaxNodeIDLength)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '-' || r == '_'
		if !ok {
			return fmt.Errorf("%w: character %q not allowed", ErrInvalidNodeID, r)
		}
	}
	return nil
}

// pemBytes returns the bytes of the first PEM block of the given type.
func pemBytes(data []byte, typ string) ([]byte, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("no PEM %s block", typ)
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
}
