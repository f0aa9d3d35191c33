package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtIssuer is the issuer of the test tokens.
const jwtIssuer = "https://issuer.e2e.test"

// jwksServer serves the public half of key as a one-key JWKS (kid "k1")
// and counts the fetches.
func jwksServer(t *testing.T, key *rsa.PrivateKey) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig"}}}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &fetches
}

// signJWT signs claims with key (RS256, kid "k1").
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// workloadClaims are the claims of a good token for the "deploy" role,
// changed by edit.
func workloadClaims(edit func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": jwtIssuer, "sub": "repo:acme/payments:ref:refs/heads/main", "aud": "secretum-e2e",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"workload": "payments-api", "groups": []string{"deployers"}, "environment": "prod",
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// TestLoginJWT configures a JWKS served by a local httptest server and a
// role with bound_audiences, user_claim, groups_claim and bound_claims:
// a correctly signed token logs in as the Service named by its
// user_claim, whose groups_claim value becomes an external identity
// group listing the entity, and a Cedar policy on that group permits;
// tokens with a wrong audience, an expired exp, a bad signature or an
// unbound claim value are refused with 403.
func TestLoginJWT(t *testing.T) {
	s, root, _ := loginServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, fetches := jwksServer(t, key)
	writeOK(t, root, "sys/auth/jwt", map[string]any{"type": "jwt"})
	writeOK(t, root, "auth/jwt/config", map[string]any{"jwks_url": jwks.URL, "bound_issuer": jwtIssuer})
	if cfg := readOK(t, root, "auth/jwt/config").Data; cfg["jwks_url"] != jwks.URL || cfg["bound_issuer"] != jwtIssuer {
		t.Fatalf("auth/jwt/config = %v", cfg)
	}
	writeOK(t, root, "auth/jwt/role/deploy", map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"secretum-e2e"}, "user_claim": "workload", "groups_claim": "groups",
		"bound_claims": map[string]any{"environment": []string{"prod", "staging"}}, "token_policies": []string{"deploy"},
	})
	writeOK(t, root, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	writeOK(t, root, "secret/data/deploy/payments", map[string]any{"data": map[string]any{"dsn": "postgres://db"}})

	login := func(tok string) (int, map[string]any) {
		return postJSONTo(t, http.DefaultClient, s.url()+"/v1/auth/jwt/login", map[string]any{"role": "deploy", "jwt": tok})
	}
	sec, err := s.client("").Logical().Write("auth/jwt/login", map[string]any{"role": "deploy", "jwt": signJWT(t, key, workloadClaims(nil))})
	auth := wantLogin(t, "jwt login", sec, err)
	if !slices.Equal(auth.Policies, []string{"default", "deploy"}) {
		t.Errorf("jwt auth policies %v, want [default deploy]", auth.Policies)
	}
	if fetches.Load() == 0 {
		t.Errorf("the JWKS server was never asked for keys")
	}
	checkEntity(t, s, root, auth.ClientToken, auth.EntityID, "payments-api", "Service")
	g := readOK(t, root, "identity/group/name/deployers").Data
	if g["name"] != "deployers" || g["type"] != "external" || !slices.Equal(stringList(g["member_entity_ids"]), []string{auth.EntityID}) {
		t.Errorf("group deployers: name %v type %v member_entity_ids %v, want an external group holding %s", g["name"], g["type"], g["member_entity_ids"], auth.EntityID)
	}

	svc := s.client(auth.ClientToken)
	_, err = svc.Logical().Read("secret/data/deploy/payments")
	wantErrStatus(t, "read before the Cedar policy", err, http.StatusForbidden)
	putCedar(t, root, "deployers", `permit(principal in Group::"deployers", action == Action::"read", resource in Secret::"secret/data/deploy");`)
	got, err := svc.Logical().Read("secret/data/deploy/payments")
	if err != nil || got == nil {
		t.Fatalf("read permitted through the group: %+v, %v", got, err)
	}
	if data, _ := got.Data["data"].(map[string]any); data["dsn"] != "postgres://db" {
		t.Errorf("permitted read data = %v", got.Data)
	}
	_, err = svc.Logical().Read("secret/data/other")
	wantErrStatus(t, "read outside the group's prefix", err, http.StatusForbidden)

	refused := []struct {
		name string
		tok  string
	}{
		{"wrong audience", signJWT(t, key, workloadClaims(func(c map[string]any) { c["aud"] = "someone-else" }))},
		{"expired", signJWT(t, key, workloadClaims(func(c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Hour).Unix(), time.Now().Add(-10*time.Minute).Unix()
		}))},
		{"bad signature (another key, same kid)", signJWT(t, otherKey, workloadClaims(nil))},
		{"bound claim not matched", signJWT(t, key, workloadClaims(func(c map[string]any) { c["environment"] = "dev" }))},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			status, out := login(tc.tok)
			if status != http.StatusForbidden || out["auth"] != nil {
				t.Errorf("status %d auth %v, want 403 and no auth", status, out["auth"])
			}
		})
	}
	// The refusals stayed under the lockout threshold: a good token still
	// logs in, onto the same entity.
	status, out := login(signJWT(t, key, workloadClaims(nil)))
	a, _ := out["auth"].(map[string]any)
	if status != http.StatusOK || a["entity_id"] != auth.EntityID {
		t.Errorf("good token after the refusals: status %d entity %v, want 200 and %s", status, a["entity_id"], auth.EntityID)
	}
}
