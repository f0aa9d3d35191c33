package cert_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/cert"
	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// now is the tests' fixed "current time"; certificates are valid around it.
var now = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

var serial atomic.Int64

// issued is a certificate and its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// p256Key generates a key; key generation dominates test time, so a few
// keys are made once and reused by certificates that need not differ.
var keys = sync.OnceValue(func() []*ecdsa.PrivateKey {
	out := make([]*ecdsa.PrivateKey, 4)
	for i := range out {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

// issue signs tmpl with parent (self-signed when parent is nil), with key
// number keyIdx of keys().
func issue(t testing.TB, tmpl *x509.Certificate, parent *issued, keyIdx int) *issued {
	t.Helper()
	key := keys()[keyIdx]
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-24 * time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &issued{cert: c, key: key}
}

// newCA makes a CA certificate named cn under parent (a root when nil).
func newCA(t testing.TB, cn string, parent *issued) *issued {
	t.Helper()
	idx := 0
	if parent != nil {
		idx = 1
	}
	return newCAKey(t, cn, parent, idx)
}

// newCAKey is newCA with key number idx.
func newCAKey(t testing.TB, cn string, parent *issued, idx int) *issued {
	t.Helper()
	return issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, parent, idx)
}

// newLeaf makes a client certificate named cn under ca; edit adjusts the
// template.
func newLeaf(t testing.TB, ca *issued, cn string, edit func(*x509.Certificate)) *issued {
	t.Helper()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if edit != nil {
		edit(tmpl)
	}
	return issue(t, tmpl, ca, 2)
}

func pemOf(certs ...*issued) string {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return string(out)
}

func chainOf(certs ...*issued) []*x509.Certificate {
	out := make([]*x509.Certificate, len(certs))
	for i, c := range certs {
		out[i] = c.cert
	}
	return out
}

// mount is a cert backend over its own inmem storage.
type mount struct {
	*authtest.Mount
	b *cert.Backend
}

func newMount(t testing.TB, opts map[string]string) *mount {
	t.Helper()
	m := &mount{}
	m.Mount, m.b = authtest.NewMount(t, authtest.Setup{Type: cert.Type, Options: opts, Clock: authtest.NewClock(now)},
		func(conf *logical.BackendConfig, c *authtest.Clock) (*cert.Backend, error) {
			return cert.New(context.Background(), conf, cert.WithClock(c.Now))
		})
	return m
}

// write stores a role and fails the test on error.
func (m *mount) write(t testing.TB, name string, data map[string]any) {
	t.Helper()
	if _, err := m.Do(logical.UpdateOperation, "certs/"+name, data); err != nil {
		t.Fatalf("write certs/%s: %v", name, err)
	}
}

// login logs in with chain from remote, naming role when not "".
func (m *mount) login(chain []*x509.Certificate, role, remote string) (*logical.Response, error) {
	data := map[string]any{}
	if role != "" {
		data["name"] = role
	}
	return m.Send(&logical.Request{Operation: logical.UpdateOperation, Path: "login", Data: data,
		Connection: &logical.Connection{RemoteAddr: remote, PeerCertificates: chain}})
}
