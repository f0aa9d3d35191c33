package jwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/auth/jwt"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// signingKey is a test issuer's private key.
type signingKey struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
	kid  string
}

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]*signingKey{}
)

// rsaKey returns a 2048-bit RSA key named kid (generated once per test
// binary and kid: RSA generation is slow).
func rsaKey(t testing.TB, kid string) *signingKey {
	t.Helper()
	return cachedKey(t, "rsa/"+kid, func() (*signingKey, error) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		return &signingKey{priv: k, alg: jose.RS256, kid: kid}, err
	})
}

// ecKey returns a P-256 key named kid.
func ecKey(t testing.TB, kid string) *signingKey {
	t.Helper()
	return cachedKey(t, "ec/"+kid, func() (*signingKey, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return &signingKey{priv: k, alg: jose.ES256, kid: kid}, err
	})
}

func cachedKey(t testing.TB, name string, gen func() (*signingKey, error)) *signingKey {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := gen()
	if err != nil {
		t.Fatal(err)
	}
	keyCache[name] = k
	return k
}

// jwk is the public JWK of k.
func (k *signingKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// pem is the PKIX PEM of k's public key.
func (k *signingKey) pem(t testing.TB) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// sign returns a compact JWT of claims signed by k (with k's kid).
func (k *signingKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signWith(t, k.alg, jose.JSONWebKey{Key: k.priv, KeyID: k.kid}, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// jwksServer serves a JWKS that tests can change, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []jose.JSONWebKey
	hits atomic.Int64
}

func newJWKSServer(t testing.TB, keys ...*signingKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.setKeys(keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...*signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, k.jwk())
	}
}

func (s *jwksServer) serve(w http.ResponseWriter, _ *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	set := jose.JSONWebKeySet{Keys: s.keys}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// oidcServer is an OIDC issuer over TLS: a discovery document whose
// issuer is the server's URL (or issuerOverride) and its JWKS.
type oidcServer struct {
	*httptest.Server
	jwks  *jwksServer
	caPEM string
	// issuer is what the discovery document claims.
	issuer string
}

func newOIDCServer(t testing.TB, keys ...*signingKey) *oidcServer {
	t.Helper()
	o := &oidcServer{jwks: &jwksServer{}}
	o.jwks.setKeys(keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":   o.issuer,
			"jwks_uri": o.URL + "/keys",
		})
	})
	mux.HandleFunc("/keys", o.jwks.serve)
	o.Server = httptest.NewUnstartedServer(mux)
	// Handshakes refused on purpose (an untrusted CA) are not news.
	o.Config.ErrorLog = log.New(io.Discard, "", 0)
	o.StartTLS()
	t.Cleanup(o.Close)
	o.issuer = o.URL
	o.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.Certificate().Raw}))
	return o
}

// harness is one jwt mount over an inmem store.
type harness struct {
	*authtest.Mount
	b *jwt.Backend
}

func newHarness(t testing.TB, mountOpts map[string]string) *harness {
	t.Helper()
	h := &harness{}
	h.Mount, h.b = authtest.NewMount(t, authtest.Setup{Type: jwt.Type, View: "logical/jwt-test/", Options: mountOpts,
		Clock: authtest.NewClock(time.Now().Truncate(time.Second)), Remote: "203.0.113.7"},
		func(conf *logical.BackendConfig, c *authtest.Clock) (*jwt.Backend, error) {
			return jwt.New(context.Background(), conf, jwt.WithClock(c.Now))
		})
	return h
}

func (h *harness) login(role, token string) (*logical.Response, error) {
	return h.loginFrom(role, token, h.Remote)
}

func (h *harness) loginFrom(role, token, remote string) (*logical.Response, error) {
	data := map[string]any{"jwt": token}
	if role != "" {
		data["role"] = role
	}
	return h.DoFrom(remote, logical.UpdateOperation, "login", data)
}

// claims returns a valid claim set issued now by iss for aud.
func (h *harness) claims(iss, sub string, aud any) map[string]any {
	now := h.Clock.Now()
	c := map[string]any{
		"iss": iss,
		"sub": sub,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	if aud != nil {
		c["aud"] = aud
	}
	return c
}

// with returns a copy of c with kv applied (a nil value deletes).
func with(c map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(c)+len(kv)/2)
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}
