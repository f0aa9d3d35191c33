package jwt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// supportedAlgs are the algorithms a mount may accept, and the default
// when jwt_supported_algs is empty (Vault's for jwt roles: every
// asymmetric JWS algorithm). HMAC and "none" are never accepted.
var supportedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.EdDSA,
}

// parseAlgs checks jwt_supported_algs and returns them as go-jose
// algorithms (supportedAlgs when empty).
func parseAlgs(names []string) ([]jose.SignatureAlgorithm, error) {
	if len(names) == 0 {
		return supportedAlgs, nil
	}
	out := make([]jose.SignatureAlgorithm, 0, len(names))
	for _, n := range names {
		a := jose.SignatureAlgorithm(n)
		if !slices.Contains(supportedAlgs, a) {
			return nil, fmt.Errorf("unsupported signing algorithm: %s", truncate(n, 16))
		}
		out = append(out, a)
	}
	return out, nil
}

// denied is a failed login: logical.ErrPermissionDenied with Vault's
// reason (never the token, a claim value or key material).
func denied(format string, args ...any) error {
	return fmt.Errorf("%w: %s", logical.ErrPermissionDenied, fmt.Sprintf(format, args...))
}

// verifier checks tokens against one stored config.
type verifier struct {
	fingerprint [32]byte
	src         keySource
	algs        []jose.SignatureAlgorithm
	// issuers the token's iss must equal (bound_issuer; the discovery
	// issuer for an oidc_discovery_url source); "" entries are skipped.
	boundIssuer string
	oidcIssuer  string
}

// newVerifier builds the verifier of cfg (no network access: remote
// keys are fetched on first use).
func (b *Backend) newVerifier(cfg *mountConfig, raw []byte) (*verifier, error) {
	algs, err := parseAlgs(cfg.JWTSupportedAlgs)
	if err != nil {
		return nil, err
	}
	v := &verifier{fingerprint: sha256.Sum256(raw), algs: algs, boundIssuer: cfg.BoundIssuer}
	switch {
	case len(cfg.JWTValidationPubKeys) > 0:
		v.src, err = newStaticKeys(cfg.JWTValidationPubKeys)
	case cfg.JWKSURL != "":
		v.src, err = b.newRemoteKeys(cfg.JWKSCAPEM, cfg.JWKSURL, "")
	case cfg.OIDCDiscoveryURL != "":
		v.src, err = b.newRemoteKeys(cfg.OIDCDiscoveryCAPEM, "", cfg.OIDCDiscoveryURL)
		v.oidcIssuer = cfg.OIDCDiscoveryURL
	default:
		err = errors.New("no key source configured")
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (b *Backend) newRemoteKeys(caPEM, jwksURL, discoveryURL string) (*remoteKeys, error) {
	client, err := newHTTPClient(caPEM)
	if err != nil {
		return nil, err
	}
	return &remoteKeys{
		client: client, jwksURL: jwksURL, discoveryURL: discoveryURL,
		now: b.now, minRefresh: b.minRefresh, maxAge: b.maxAge,
	}, nil
}

// verifierFor returns the verifier of the stored config raw, building it
// when the config changed since the last login.
func (b *Backend) verifierFor(cfg *mountConfig, raw []byte) (*verifier, error) {
	fp := sha256.Sum256(raw)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.verifier != nil && b.verifier.fingerprint == fp {
		return b.verifier, nil
	}
	v, err := b.newVerifier(cfg, raw)
	if err != nil {
		return nil, fmt.Errorf("jwt: stored config: %w: %w", ErrCorrupt, err)
	}
	b.verifier = v
	return v, nil
}

// verify checks the token's signature and registered claims and returns
// its claims (numbers as json.Number).
func (v *verifier) verify(ctx context.Context, token string, r *role, now time.Time) (map[string]any, error) {
	payload, err := v.verifySignature(ctx, token)
	if err != nil {
		return nil, err
	}
	var reg josejwt.Claims
	if err := json.Unmarshal(payload, &reg); err != nil {
		return nil, denied("error validating token: malformed claims")
	}
	claims := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, denied("error validating token: malformed claims")
	}
	if err := v.checkRegistered(&reg, r); err != nil {
		return nil, err
	}
	if err := checkTimes(&reg, r, now); err != nil {
		return nil, err
	}
	return claims, nil
}

// verifySignature returns the payload of token if one of the source's
// keys verifies it. A remote source is refreshed (rate-limited) when the
// token's kid is unknown, or when it names none and no key fits.
func (v *verifier) verifySignature(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return nil, denied("error validating token: invalid algorithm (alg) header parameter: token signed with unexpected algorithm")
		}
		return nil, denied("error validating token: malformed token")
	}
	hdr := jws.Signatures[0].Header
	keys, err := v.src.keys(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("%w: jwt: fetching keys: %w", logical.ErrUnavailable, err)
	}
	payload, known := v.tryKeys(jws, keys, hdr.KeyID, hdr.Algorithm)
	if payload == nil && v.src.remote() && (!known || hdr.KeyID == "") {
		if keys, err = v.src.keys(ctx, true); err != nil {
			return nil, fmt.Errorf("%w: jwt: fetching keys: %w", logical.ErrUnavailable, err)
		}
		payload, _ = v.tryKeys(jws, keys, hdr.KeyID, hdr.Algorithm)
	}
	if payload == nil {
		return nil, denied("error validating token: error verifying token signature")
	}
	return payload, nil
}

// tryKeys verifies jws with each key selected by kid that fits alg;
// known reports whether the set holds a key of that kid.
func (v *verifier) tryKeys(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid, alg string) (payload []byte, known bool) {
	byKID := v.src.matchKeyID() && kid != ""
	for _, k := range keys {
		if byKID && k.KeyID != kid {
			continue
		}
		known = true
		if !keyFits(k, alg) {
			continue
		}
		if p, err := jws.Verify(k.Key); err == nil {
			return p, true
		}
	}
	return nil, known
}

// checkRegistered asserts iss, sub and aud, in Vault's order and with
// its messages.
func (v *verifier) checkRegistered(c *josejwt.Claims, r *role) error {
	if v.boundIssuer != "" && c.Issuer != v.boundIssuer {
		return denied("error validating token: invalid issuer (iss) claim")
	}
	if v.oidcIssuer != "" && c.Issuer != v.oidcIssuer {
		return denied("error validating token: invalid issuer (iss) claim")
	}
	if r.BoundSubject != "" && c.Subject != r.BoundSubject {
		return denied("error validating token: invalid subject (sub) claim")
	}
	if len(r.BoundAudiences) > 0 && !slices.ContainsFunc(r.BoundAudiences, func(a string) bool { return slices.Contains(c.Audience, a) }) {
		return denied("error validating token: invalid audience (aud) claim: audience claim does not match any expected audience")
	}
	if len(r.BoundAudiences) == 0 && len(c.Audience) > 0 {
		return denied("audience claim found in JWT but no audiences bound to the role")
	}
	return nil
}

// leeway applies Vault's convention: 0 is the default, negative none.
func leeway(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// checkTimes validates exp, nbf and iat exactly as Vault does
// (hashicorp/cap jwt.Validator): at least one must be present; a missing
// exp is the latest of iat and nbf plus expiration_leeway, a missing nbf
// is iat or else exp minus not_before_leeway; clock_skew_leeway widens
// every comparison.
func checkTimes(c *josejwt.Claims, r *role, now time.Time) error {
	var iat, nbf, exp int64
	if c.IssuedAt != nil {
		iat = int64(*c.IssuedAt)
	}
	if c.NotBefore != nil {
		nbf = int64(*c.NotBefore)
	}
	if c.Expiry != nil {
		exp = int64(*c.Expiry)
	}
	if iat == 0 && nbf == 0 && exp == 0 {
		return denied("error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token")
	}
	if exp == 0 {
		exp = max(iat, nbf) + int64(leeway(r.ExpirationLeeway, defaultExpNbfLeeway)/time.Second)
	}
	if nbf == 0 {
		nbf = iat
		if iat == 0 {
			nbf = exp - int64(leeway(r.NotBeforeLeeway, defaultExpNbfLeeway)/time.Second)
		}
	}
	skew := leeway(r.ClockSkewLeeway, defaultClockSkewLeeway)
	switch {
	case now.Add(skew).Before(time.Unix(nbf, 0)):
		return denied("error validating token: invalid not before (nbf) claim: token not yet valid")
	case now.Add(-skew).After(time.Unix(exp, 0)):
		return denied("error validating token: invalid expiration time (exp) claim: token is expired")
	case iat != 0 && now.Add(skew).Before(time.Unix(iat, 0)):
		return denied("error validating token: invalid issued at (iat) claim: token issued in the future")
	}
	return nil
}
