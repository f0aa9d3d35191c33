package jwt_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/jwt"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// TestJWKSRotation: a token signed by a key the cached set does not know
// makes the mount re-read the JWKS, at most once per MinKeyRefresh, and
// a withdrawn key stops working once the set is re-read.
func TestJWKSRotation(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_disable": "true"})
	oldKey, newKey := rsaKey(t, "rsa-1"), rsaKey(t, "rsa-2")
	srv := newJWKSServer(t, oldKey)
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwks_url": srv.URL})
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	claims := func() map[string]any { return h.claims(testIssuer, "svc", nil) }
	hits := func() int64 { return srv.hits.Load() }

	if _, err := h.login("r", oldKey.sign(t, claims())); err != nil {
		t.Fatalf("login with the first key: %v", err)
	}
	afterFirst := hits()
	// Cached: more logins fetch nothing.
	for range 3 {
		if _, err := h.login("r", oldKey.sign(t, claims())); err != nil {
			t.Fatal(err)
		}
	}
	if hits() != afterFirst {
		t.Fatalf("cached logins fetched the JWKS %d more times", hits()-afterFirst)
	}

	srv.setKeys(newKey)
	// The first fetch was just now: an unknown kid may not refresh yet,
	// however many tokens ask.
	for i := range 5 {
		tok := rsaKey(t, fmt.Sprintf("made-up-%d", i)).sign(t, claims())
		if _, err := h.login("r", tok); !errors.Is(err, logical.ErrPermissionDenied) {
			t.Fatalf("made-up kid: %v", err)
		}
	}
	if _, err := h.login("r", newKey.sign(t, claims())); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("new key before the refresh interval = %v, want denied", err)
	}
	if hits() != afterFirst {
		t.Fatalf("unknown kids fetched the JWKS %d times within MinKeyRefresh", hits()-afterFirst)
	}

	h.Clock.Advance(jwt.MinKeyRefresh + time.Second)
	if _, err := h.login("r", newKey.sign(t, claims())); err != nil {
		t.Fatalf("rotated key after the refresh interval: %v", err)
	}
	if hits() != afterFirst+1 {
		t.Fatalf("rotation fetched %d times, want 1", hits()-afterFirst)
	}
	if _, err := h.login("r", oldKey.sign(t, claims())); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("withdrawn key = %v, want denied", err)
	}

	// Keys older than MaxKeyAge are re-read by the next login.
	h.Clock.Advance(jwt.MaxKeyAge)
	if _, err := h.login("r", newKey.sign(t, claims())); err != nil {
		t.Fatal(err)
	}
	if hits() != afterFirst+2 {
		t.Fatalf("stale keys were not re-read (%d fetches)", hits()-afterFirst)
	}
}

// TestJWKSOutage: keys fetched earlier keep working while the JWKS is
// down; with none fetched, a login is 503, not a denial.
func TestJWKSOutage(t *testing.T) {
	h := newHarness(t, nil)
	k := ecKey(t, "ec-1")
	srv := newJWKSServer(t, k)
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwks_url": srv.URL})
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	if _, err := h.login("r", k.sign(t, h.claims(testIssuer, "svc", nil))); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	h.Clock.Advance(jwt.MaxKeyAge + time.Minute)
	if _, err := h.login("r", k.sign(t, h.claims(testIssuer, "svc", nil))); err != nil {
		t.Fatalf("login with cached keys during an outage: %v", err)
	}

	fresh := newHarness(t, nil)
	srv2 := newJWKSServer(t, k)
	fresh.Must(logical.UpdateOperation, "config", map[string]any{"jwks_url": srv2.URL})
	fresh.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	srv2.Close()
	_, err := fresh.login("r", k.sign(t, fresh.claims(testIssuer, "svc", nil)))
	if !errors.Is(err, logical.ErrUnavailable) || errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("login with no keys = %v, want unavailable", err)
	}
}

// TestOIDCDiscovery verifies against a TLS issuer found by discovery,
// trusted through oidc_discovery_ca_pem; the token's iss must be the
// discovered issuer.
func TestOIDCDiscovery(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_disable": "true"})
	k := rsaKey(t, "rsa-1")
	o := newOIDCServer(t, k, ecKey(t, "ec-1"))
	h.Must(logical.UpdateOperation, "config", map[string]any{
		"oidc_discovery_url": o.URL, "oidc_discovery_ca_pem": o.caPEM,
	})
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_audiences": "vault", "groups_claim": "groups"})
	tests := []struct {
		name    string
		claims  map[string]any
		key     *signingKey
		wantErr string
	}{
		{name: "rsa", claims: with(h.claims(o.URL, "svc", []any{"vault"}), "groups", "one"), key: k},
		{name: "ec", claims: with(h.claims(o.URL, "svc", "vault"), "groups", []any{"a", "b"}), key: ecKey(t, "ec-1")},
		{name: "wrong issuer", claims: with(h.claims("https://elsewhere.example.com", "svc", "vault"), "groups", "g"), key: k, wantErr: "invalid issuer"},
		{name: "wrong audience", claims: with(h.claims(o.URL, "svc", "nope"), "groups", "g"), key: k, wantErr: "invalid audience"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.login("r", tc.key.sign(t, tc.claims))
			if tc.wantErr != "" {
				if !errors.Is(err, logical.ErrPermissionDenied) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("login = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Auth.GroupNames) == 0 || resp.Auth.Alias.Name != "svc" {
				t.Fatalf("auth = %+v", resp.Auth)
			}
		})
	}
}

// TestConfigChangeResetsKeys: logins use the key source of the config as
// stored now, not the one cached from an earlier config.
func TestConfigChangeResetsKeys(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_disable": "true"})
	a, b := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwt_validation_pubkeys": []any{a.pem(t)}})
	if _, err := h.login("r", a.sign(t, h.claims(testIssuer, "svc", nil))); err != nil {
		t.Fatal(err)
	}
	srv := newJWKSServer(t, b)
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwks_url": srv.URL})
	if _, err := h.login("r", a.sign(t, h.claims(testIssuer, "svc", nil))); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("old key after config change = %v, want denied", err)
	}
	if _, err := h.login("r", b.sign(t, h.claims(testIssuer, "svc", nil))); err != nil {
		t.Fatalf("new source: %v", err)
	}
}

// TestConcurrentLoginsDuringRotation runs logins in parallel while the
// JWKS rotates (for -race): every login with the current key succeeds
// once the refresh interval has passed, and they share one fetch.
func TestConcurrentLoginsDuringRotation(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_disable": "true"})
	oldKey, newKey := rsaKey(t, "rsa-1"), rsaKey(t, "rsa-2")
	srv := newJWKSServer(t, oldKey)
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwks_url": srv.URL})
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	if _, err := h.login("r", oldKey.sign(t, h.claims(testIssuer, "svc", nil))); err != nil {
		t.Fatal(err)
	}
	before := srv.hits.Load()
	srv.setKeys(oldKey, newKey)
	h.Clock.Advance(jwt.MinKeyRefresh)
	tokens := []string{oldKey.sign(t, h.claims(testIssuer, "svc", nil)), newKey.sign(t, h.claims(testIssuer, "svc", nil))}
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			_, err := h.login("r", tokens[i%2])
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent login: %v", err)
		}
	}
	if n := srv.hits.Load() - before; n != 1 {
		t.Fatalf("concurrent logins fetched the JWKS %d times, want 1", n)
	}
}
