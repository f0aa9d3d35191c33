package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Limits of the HTTP fetches of key sets and discovery documents.
const (
	fetchTimeout  = 10 * time.Second
	maxFetchBytes = 1 << 20
)

// errKeySource is wrapped by every failure to obtain keys from a remote
// source. Its messages name the URL's problem (status, decode, issuer
// mismatch), never a response body.
var errKeySource = errors.New("jwt: key source")

// keySource yields the public keys that may have signed a token.
// Implementations are safe for concurrent use.
type keySource interface {
	// keys returns the current keys. refresh asks for a fresh copy,
	// which a remote source honours at most once per its minimum
	// refresh interval; a static source ignores it.
	keys(ctx context.Context, refresh bool) ([]jose.JSONWebKey, error)
	// remote reports whether refresh can change the answer.
	remote() bool
	// matchKeyID reports whether tokens' kid headers select keys.
	matchKeyID() bool
}

// staticKeys are the parsed jwt_validation_pubkeys.
type staticKeys []jose.JSONWebKey

func (s staticKeys) keys(context.Context, bool) ([]jose.JSONWebKey, error) { return s, nil }
func (staticKeys) remote() bool                                            { return false }
func (staticKeys) matchKeyID() bool                                        { return false }

// parsePublicKeyPEM parses one PEM public key (PKIX or PKCS#1) or
// certificate; only RSA, ECDSA and Ed25519 keys are accepted.
func parsePublicKeyPEM(data string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(data)))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, errors.New("data does not contain any valid public keys")
	}
	switch k := key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return k, nil
	}
	return nil, errors.New("unsupported public key type")
}

func newStaticKeys(pems []string) (staticKeys, error) {
	out := make(staticKeys, 0, len(pems))
	for i, p := range pems {
		k, err := parsePublicKeyPEM(p)
		if err != nil {
			return nil, fmt.Errorf("public key %d: %w", i, err)
		}
		out = append(out, jose.JSONWebKey{Key: k})
	}
	return out, nil
}

// newHTTPClient returns a client trusting caPEM (the system roots when
// empty), with a whole-request timeout.
func newHTTPClient(caPEM string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if strings.TrimSpace(caPEM) != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("could not parse CA PEM value successfully")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: fetchTimeout}, nil
}

// getJSON fetches url and decodes its JSON body (at most maxFetchBytes)
// into out.
func getJSON(ctx context.Context, client *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: bad URL", errKeySource)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: request failed: %w", errKeySource, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: unexpected status %d", errKeySource, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil {
		return fmt.Errorf("%w: reading response: %w", errKeySource, err)
	}
	if len(body) > maxFetchBytes {
		return fmt.Errorf("%w: response larger than %d bytes", errKeySource, maxFetchBytes)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: response is not the expected JSON document", errKeySource)
	}
	return nil
}

// fetchJWKS reads the key set at url and keeps its public signature
// keys of a supported type (symmetric keys are dropped: never HMAC).
func fetchJWKS(ctx context.Context, client *http.Client, url string) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, client, url, &set); err != nil {
		return nil, err
	}
	out := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub := k.Public()
		switch pub.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			out = append(out, pub)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no usable signing keys in key set", errKeySource)
	}
	return out, nil
}

// discover reads the OIDC discovery document of issuer and returns its
// jwks_uri. The document's issuer must equal issuer exactly, as OIDC
// Discovery 1.0 (and go-oidc, which Vault uses) require.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	if err := getJSON(ctx, client, wellKnown, &doc); err != nil {
		return "", err
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("%w: issuer did not match the returned issuer", errKeySource)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("%w: discovery document has no jwks_uri", errKeySource)
	}
	return doc.JWKSURI, nil
}

// remoteKeys is a cached remote key set: a JWKS URL, or the jwks_uri an
// OIDC discovery document names (found on first use and again after a
// failure). A fetch happens when there are no keys, when they are older
// than maxAge, or on refresh; fetches (successful or not) are at least
// minRefresh apart, and concurrent callers share one.
type remoteKeys struct {
	client       *http.Client
	jwksURL      string // fixed (jwks_url) or discovered
	discoveryURL string // "" for a jwks_url source
	now          func() time.Time
	minRefresh   time.Duration
	maxAge       time.Duration

	fetchMu sync.Mutex // serialises fetches

	mu        sync.Mutex
	cached    []jose.JSONWebKey
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last attempt
	lastErr   error
}

func (r *remoteKeys) remote() bool     { return true }
func (r *remoteKeys) matchKeyID() bool { return true }

// snapshot returns the cache state.
func (r *remoteKeys) snapshot() (keys []jose.JSONWebKey, fetched, tried time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cached, r.fetchedAt, r.triedAt, r.lastErr
}

// keys implements keySource. When a due fetch fails, keys fetched
// earlier stay in use (an issuer outage does not stop logins).
func (r *remoteKeys) keys(ctx context.Context, refresh bool) ([]jose.JSONWebKey, error) {
	keys, fetched, tried, lastErr := r.snapshot()
	if !r.due(keys, fetched, tried, refresh) {
		if keys == nil {
			return nil, lastErr
		}
		return keys, nil
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	// Another caller may have fetched while this one waited.
	if keys2, _, tried2, err2 := r.snapshot(); tried2 != tried {
		if keys2 == nil {
			return nil, err2
		}
		return keys2, nil
	}
	fresh, err := r.fetch(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.triedAt, r.lastErr = r.now(), err
	if err == nil {
		r.cached, r.fetchedAt = fresh, r.triedAt
	}
	if r.cached == nil {
		return nil, err
	}
	return r.cached, nil
}

// due reports whether keys must be (re)fetched now.
func (r *remoteKeys) due(keys []jose.JSONWebKey, fetched, tried time.Time, refresh bool) bool {
	now := r.now()
	if !tried.IsZero() && now.Sub(tried) < r.minRefresh {
		return false
	}
	return keys == nil || refresh || now.Sub(fetched) >= r.maxAge
}

// fetch reads the key set. Its result is shared by every waiting login,
// so it does not end when the login that started it is cancelled.
func (r *remoteKeys) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	url := r.jwksURL
	if r.discoveryURL != "" {
		u, err := discover(ctx, r.client, r.discoveryURL)
		if err != nil {
			return nil, err
		}
		url = u
	}
	return fetchJWKS(ctx, r.client, url)
}

// keyFits reports whether k can verify a signature made with alg: the
// key type and curve the algorithm needs, and the JWK's own alg if it
// names one. This keeps an RSA or EC public key from ever being used as
// an HMAC secret, whatever the token's header says.
func keyFits(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case string(jose.ES256):
			return key.Curve.Params().BitSize == 256
		case string(jose.ES384):
			return key.Curve.Params().BitSize == 384
		case string(jose.ES512):
			return key.Curve.Params().BitSize == 521
		}
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA)
	}
	return false
}
