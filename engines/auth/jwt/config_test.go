package jwt_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/jwt"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestConfigValidation(t *testing.T) {
	k := rsaKey(t, "rsa-1")
	jwks := newJWKSServer(t, k)
	empty := newJWKSServer(t)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	o := newOIDCServer(t, k)
	liar := newOIDCServer(t, k)
	liar.issuer = "https://someone-else.example.com"
	const privateMarker = "MIIBOgIBAAJBAK"
	badPEM := "-----BEGIN PUBLIC KEY-----\n" + privateMarker + "notakey\n-----END PUBLIC KEY-----\n"

	tests := []struct {
		name    string
		data    map[string]any
		wantErr string // "" for success
	}{
		{name: "static keys", data: map[string]any{"jwt_validation_pubkeys": []any{k.pem(t), ecKey(t, "ec-1").pem(t)}}},
		{name: "jwks", data: map[string]any{"jwks_url": jwks.URL}},
		{name: "discovery over TLS", data: map[string]any{"oidc_discovery_url": o.URL, "oidc_discovery_ca_pem": o.caPEM}},
		{name: "jwks over TLS", data: map[string]any{"jwks_url": o.URL + "/keys", "jwks_ca_pem": o.caPEM}},
		{name: "jwks over TLS without its CA", data: map[string]any{"jwks_url": o.URL + "/keys"}, wantErr: "error checking jwks URL"},
		{name: "no key source", data: map[string]any{"bound_issuer": "x"}, wantErr: "exactly one of"},
		{name: "two key sources", data: map[string]any{"jwks_url": jwks.URL, "jwt_validation_pubkeys": []any{k.pem(t)}}, wantErr: "exactly one of"},
		{name: "three key sources", data: map[string]any{"jwks_url": jwks.URL, "oidc_discovery_url": o.URL, "jwt_validation_pubkeys": []any{k.pem(t)}}, wantErr: "exactly one of"},
		{name: "unreachable jwks", data: map[string]any{"jwks_url": deadURL}, wantErr: "error checking jwks URL"},
		{name: "jwks not found", data: map[string]any{"jwks_url": notFound.URL}, wantErr: "unexpected status 404"},
		{name: "jwks without keys", data: map[string]any{"jwks_url": empty.URL}, wantErr: "no usable signing keys"},
		{name: "bad pem", data: map[string]any{"jwt_validation_pubkeys": []any{badPEM}}, wantErr: "error parsing public key"},
		{name: "HMAC algorithm", data: map[string]any{"jwks_url": jwks.URL, "jwt_supported_algs": []any{"RS256", "HS256"}}, wantErr: "invalid jwt_supported_algs"},
		{name: "none algorithm", data: map[string]any{"jwks_url": jwks.URL, "jwt_supported_algs": "none"}, wantErr: "invalid jwt_supported_algs"},
		{name: "discovery without its CA", data: map[string]any{"oidc_discovery_url": o.URL}, wantErr: "error checking oidc discovery URL"},
		{name: "discovery issuer mismatch", data: map[string]any{"oidc_discovery_url": liar.URL, "oidc_discovery_ca_pem": liar.caPEM}, wantErr: "issuer did not match"},
		{name: "discovery well-known", data: map[string]any{"oidc_discovery_url": o.URL + "/.well-known/openid-configuration"}, wantErr: "'.well-known'"},
		{name: "bad CA", data: map[string]any{"oidc_discovery_url": o.URL, "oidc_discovery_ca_pem": "junk"}, wantErr: "could not parse CA PEM"},
		{name: "browser flow", data: map[string]any{"jwks_url": jwks.URL, "oidc_client_id": "app"}, wantErr: "browser flow is not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			_, err := h.Do(logical.UpdateOperation, "config", tc.data)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("config write = %v, want 400 %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), privateMarker) || strings.Contains(err.Error(), "BEGIN") {
				t.Fatalf("error %q quotes key material", err)
			}
			if _, err := h.Do(logical.ReadOperation, "config", nil); !errors.Is(err, logical.ErrNotFound) {
				t.Fatalf("refused config was stored: %v", err)
			}
		})
	}
}

func TestConfigReadWrite(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.Do(logical.ReadOperation, "config", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read before write = %v, want not found", err)
	}
	jwks := newJWKSServer(t, rsaKey(t, "rsa-1"))
	h.Must(logical.UpdateOperation, "config", map[string]any{
		"jwks_url": jwks.URL, "bound_issuer": testIssuer, "default_role": "CI", "jwt_supported_algs": "RS256,ES256",
	})
	got := h.Must(logical.ReadOperation, "config", nil).Data
	want := map[string]any{
		"oidc_discovery_url": "", "oidc_discovery_ca_pem": "", "jwks_url": jwks.URL, "jwks_ca_pem": "",
		"jwt_validation_pubkeys": []string{}, "jwt_supported_algs": []string{"RS256", "ES256"},
		"bound_issuer": testIssuer, "default_role": "ci",
		"oidc_client_id": "", "oidc_response_mode": "", "oidc_response_types": []string{}, "provider_config": map[string]any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config = %#v\nwant %#v", got, want)
	}
	// A write replaces the whole config, as in Vault.
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwt_validation_pubkeys": []any{rsaKey(t, "rsa-1").pem(t)}})
	got = h.Must(logical.ReadOperation, "config", nil).Data
	if got["jwks_url"] != "" || got["bound_issuer"] != "" || len(got["jwt_validation_pubkeys"].([]string)) != 1 {
		t.Fatalf("config after replace = %v", got)
	}
}

func TestFactoryAndRoutes(t *testing.T) {
	b, err := jwt.Factory(context.Background(), &logical.BackendConfig{MountPoint: "auth/oidc/"})
	if err != nil {
		t.Fatal(err)
	}
	rd := b.(logical.RouteDescriber)
	for _, tc := range []struct {
		path   string
		unauth bool
	}{{"login", true}, {"config", false}, {"role/x", false}, {"role/", false}} {
		info, ok := rd.RouteInfo(tc.path, logical.UpdateOperation)
		if !ok || info.Unauthenticated != tc.unauth || info.Sudo {
			t.Errorf("RouteInfo(%q) = %+v, %v", tc.path, info, ok)
		}
	}
	if _, err := jwt.Factory(context.Background(), &logical.BackendConfig{Config: map[string]string{"lockout_threshold": "zero"}}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("bad lockout option = %v", err)
	}
	if jwt.Type != "jwt" || jwt.TypeOIDC != "oidc" {
		t.Fatal("mount type names changed")
	}
}
