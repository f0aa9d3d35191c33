package cluster_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
)

func mustCA(t *testing.T) *cluster.CA {
	t.Helper()
	ca, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func parsePEMCert(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t)
	c := parsePEMCert(t, ca.CertPEM())
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Fatalf("not a path-length-0 CA: IsCA=%v maxPathLen=%d", c.IsCA, c.MaxPathLen)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("KeyUsage = %v", c.KeyUsage)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve.Params().Name != "P-256" {
		t.Fatalf("key %T is not P-256", c.PublicKey)
	}
	if life := c.NotAfter.Sub(c.NotBefore); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
		t.Fatalf("validity %v, want ~10 years", life)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 64 {
		t.Fatalf("serial %v is not a random 128-bit number", c.SerialNumber)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	other := mustCA(t)
	if parsePEMCert(t, other.CertPEM()).SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Fatal("two CAs share a serial number")
	}
}

func TestCAMarshalRoundTrip(t *testing.T) {
	ca := mustCA(t)
	data, err := ca.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := cluster.UnmarshalCA(data)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.CertPEM()) != string(ca.CertPEM()) {
		t.Fatal("certificate changed in round trip")
	}
	// The restored CA signs certificates that the original's pool accepts.
	id, err := back.IssueIdentity("node2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.Cert.Leaf.Verify(x509.VerifyOptions{
		Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		t.Fatalf("certificate from restored CA does not verify against original: %v", err)
	}
}

func TestUnmarshalCAInvalid(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	var good, foreign map[string]string
	decode := func(c *cluster.CA, into *map[string]string) {
		data, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatal(err)
		}
	}
	decode(ca, &good)
	decode(other, &foreign)
	leaf, err := ca.IssueIdentity("n1")
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := cluster.MarshalNodeKey(leaf.Cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Cert.Certificate[0]})
	enc := func(cert, key string) []byte {
		b, _ := json.Marshal(map[string]string{"cert": cert, "key": key})
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"not json", []byte("{")},
		{"empty", []byte("{}")},
		{"no key", enc(good["cert"], "")},
		{"garbage key", enc(good["cert"], "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		{"key of another CA", enc(good["cert"], foreign["key"])},
		{"leaf certificate", enc(string(leafPEM), string(leafKey))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cluster.UnmarshalCA(tt.data); !errors.Is(err, cluster.ErrInvalidCA) {
				t.Fatalf("err = %v, want ErrInvalidCA", err)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	ca := mustCA(t)
	key, err := cluster.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.Issue("node-1", key.Public(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.DNSNames, []string{cluster.ServerName, "node-1"}) {
		t.Fatalf("DNSNames = %v", c.DNSNames)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("ExtKeyUsage = %v", c.ExtKeyUsage)
	}
	if c.IsCA {
		t.Fatal("leaf is a CA")
	}
	if d := time.Until(c.NotAfter); d > time.Hour || d < 58*time.Minute {
		t.Fatalf("expires in %v, want ~1h", d)
	}
	id, err := cluster.NewIdentity(key, der, ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	if id.NodeID() != "node-1" {
		t.Fatalf("NodeID = %q", id.NodeID())
	}
	// A TTL beyond the CA's life is clipped to it.
	long, err := ca.Issue("node-1", key.Public(), 100*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lc, _ := x509.ParseCertificate(long)
	if caCert := parsePEMCert(t, ca.CertPEM()); lc.NotAfter.After(caCert.NotAfter) {
		t.Fatalf("leaf outlives CA: %v > %v", lc.NotAfter, caCert.NotAfter)
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := ca.Issue("node-ed", edPub, time.Hour); err != nil {
		t.Fatalf("ed25519 public key: %v", err)
	}
}

func TestIssueInvalid(t *testing.T) {
	ca := mustCA(t)
	key, _ := cluster.NewNodeKey()
	tests := []struct {
		name   string
		nodeID string
		pub    any
		ttl    time.Duration
		want   error
	}{
		{"empty id", "", key.Public(), time.Hour, cluster.ErrInvalidNodeID},
		{"space in id", "node 1", key.Public(), time.Hour, cluster.ErrInvalidNodeID},
		{"slash in id", "a/b", key.Public(), time.Hour, cluster.ErrInvalidNodeID},
		{"too long id", string(make([]byte, 64)), key.Public(), time.Hour, cluster.ErrInvalidNodeID},
		{"zero ttl", "n1", key.Public(), 0, nil},
		{"unsupported key", "n1", "not a key", time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.Issue(tt.nodeID, tt.pub, tt.ttl)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssueCSR(t *testing.T) {
	ca := mustCA(t)
	key, _ := cluster.NewNodeKey()
	csr, err := cluster.NewCSR("joiner", key)
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.IssueCSR("node3", csr, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := cluster.NewIdentity(key, der, ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	if id.NodeID() != "node3" {
		t.Fatalf("NodeID = %q, want the id given by the issuer", id.NodeID())
	}
	tampered := slices.Clone(csr)
	tampered[len(tampered)-1] ^= 0xff
	if _, err := ca.IssueCSR("node3", tampered, time.Hour); err == nil {
		t.Fatal("tampered CSR accepted")
	}
	if _, err := ca.IssueCSR("node3", []byte("junk"), time.Hour); err == nil {
		t.Fatal("junk CSR accepted")
	}
}

func TestNewIdentityInvalid(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	key, _ := cluster.NewNodeKey()
	key2, _ := cluster.NewNodeKey()
	der, err := ca.Issue("n1", key.Public(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		key   *ecdsa.PrivateKey
		der   []byte
		caPEM []byte
	}{
		{"nil key", nil, der, ca.CertPEM()},
		{"wrong key", key2, der, ca.CertPEM()},
		{"junk cert", key, []byte("junk"), ca.CertPEM()},
		{"other CA", key, der, other.CertPEM()},
		{"no CA PEM", key, der, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cluster.NewIdentity(tt.key, tt.der, tt.caPEM); !errors.Is(err, cluster.ErrInvalidCert) {
				t.Fatalf("err = %v, want ErrInvalidCert", err)
			}
		})
	}
}

func TestNodeKeyRoundTrip(t *testing.T) {
	key, _ := cluster.NewNodeKey()
	p, err := cluster.MarshalNodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	back, err := cluster.ParseNodeKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(key) {
		t.Fatal("key changed in round trip")
	}
	if _, err := cluster.ParseNodeKey([]byte("junk")); !errors.Is(err, cluster.ErrInvalidCert) {
		t.Fatalf("junk: err = %v", err)
	}
}
