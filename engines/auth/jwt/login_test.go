package jwt_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/logical"
)

const (
	testIssuer = "https://issuer.example.com"
	// canary is a claim value that must never appear in an error.
	canary = "canary-claim-value-7f3a"
)

// jwksHarness is a mount verifying with a JWKS of an RSA and an EC key,
// bound to testIssuer, with the "ci" role.
func jwksHarness(t *testing.T) (*harness, *jwksServer) {
	t.Helper()
	// Lockout is off: TestLoginRefused fails many logins in a row.
	h := newHarness(t, map[string]string{"lockout_disable": "true"})
	srv := newJWKSServer(t, rsaKey(t, "rsa-1"), ecKey(t, "ec-1"))
	h.Must(logical.UpdateOperation, "config", map[string]any{
		"jwks_url": srv.URL, "bound_issuer": testIssuer,
	})
	h.Must(logical.UpdateOperation, "role/ci", map[string]any{
		"role_type":               "jwt",
		"bound_audiences":         []any{"vault", "other"},
		"user_claim":              "sub",
		"groups_claim":            "/org/teams",
		"claim_mappings":          map[string]any{"email": "email", "/org/name": "org"},
		"token_policies":          []any{"ci-read", "ci-write"},
		"token_ttl":               "10m",
		"token_max_ttl":           "1h",
		"token_period":            "0",
		"token_num_uses":          3,
		"token_bound_cidrs":       []any{"203.0.113.0/24", "198.51.100.9"},
		"token_no_default_policy": true,
	})
	return h, srv
}

func TestLoginSuccess(t *testing.T) {
	h, _ := jwksHarness(t)
	base := with(h.claims(testIssuer, "svc-build", "vault"),
		"email", "build@example.com",
		"org", map[string]any{"name": "acme", "teams": []any{"builders", "ops", "", "ops"}})
	for _, k := range []*signingKey{rsaKey(t, "rsa-1"), ecKey(t, "ec-1")} {
		t.Run(string(k.alg), func(t *testing.T) {
			resp, err := h.login("ci", k.sign(t, base))
			if err != nil {
				t.Fatal(err)
			}
			a := resp.Auth
			if a == nil || a.ClientToken != "" {
				t.Fatalf("Auth = %+v, want a login request without a token", a)
			}
			want := &logical.Alias{Name: "svc-build", EntityName: "svc-build", Metadata: map[string]string{
				"email": "build@example.com", "org": "acme", "role": "ci",
			}}
			if !reflect.DeepEqual(a.Alias, want) {
				t.Errorf("Alias = %+v, want %+v", a.Alias, want)
			}
			if !reflect.DeepEqual(a.Metadata, want.Metadata) {
				t.Errorf("Metadata = %v, want %v", a.Metadata, want.Metadata)
			}
			if a.EntityType != "Service" {
				t.Errorf("EntityType = %q", a.EntityType)
			}
			if !reflect.DeepEqual(a.GroupNames, []string{"builders", "ops"}) {
				t.Errorf("GroupNames = %v", a.GroupNames)
			}
			if !reflect.DeepEqual(a.Policies, []string{"ci-read", "ci-write"}) {
				t.Errorf("Policies = %v", a.Policies)
			}
			if a.TTL != 10*time.Minute || a.MaxTTL != time.Hour || a.Period != 0 || a.NumUses != 3 || !a.NoDefaultPolicy {
				t.Errorf("token request = ttl %v max %v period %v uses %d nodefault %v", a.TTL, a.MaxTTL, a.Period, a.NumUses, a.NoDefaultPolicy)
			}
			if !reflect.DeepEqual(a.BoundCIDRs, []string{"203.0.113.0/24", "198.51.100.9"}) {
				t.Errorf("BoundCIDRs = %v", a.BoundCIDRs)
			}
		})
	}
}

// TestLoginRefused covers every way a token is refused on a JWKS mount:
// each is a 403 that names no token or claim value, and counts as a
// failed login.
func TestLoginRefused(t *testing.T) {
	h, _ := jwksHarness(t)
	rsa, ec := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	stranger := rsaKey(t, "stranger")
	now := h.Clock.Now()
	ok := with(h.claims(testIssuer, "svc", "vault"), "org", map[string]any{"teams": []any{"t"}}, "secret", canary)
	// An attacker's key using the victim's kid.
	impostor := &signingKey{priv: stranger.priv, alg: jose.RS256, kid: "rsa-1"}
	segs := strings.Split(rsa.sign(t, ok), ".")
	tests := []struct {
		name   string
		remote string
		token  string
		want   string
	}{
		{name: "wrong audience", token: rsa.sign(t, with(ok, "aud", "someone-else")), want: "invalid audience"},
		{name: "expired", token: rsa.sign(t, with(ok, "exp", now.Add(-2*time.Minute).Unix(), "iat", now.Add(-10*time.Minute).Unix(), "nbf", nil)), want: "token is expired"},
		{name: "not yet valid", token: rsa.sign(t, with(ok, "nbf", now.Add(5*time.Minute).Unix(), "iat", nil)), want: "not yet valid"},
		{name: "issued in the future", token: rsa.sign(t, with(ok, "iat", now.Add(5*time.Minute).Unix(), "nbf", now.Unix())), want: "issued in the future"},
		{name: "no time claims", token: rsa.sign(t, with(ok, "iat", nil, "nbf", nil, "exp", nil)), want: "no issued at"},
		{name: "bad signature", token: impostor.sign(t, ok), want: "error verifying token signature"},
		{name: "key not in set", token: stranger.sign(t, ok), want: "error verifying token signature"},
		{name: "tampered payload", token: segs[0] + "." + b64(`{"iss":"`+testIssuer+`","sub":"admin","aud":"vault","exp":9999999999}`) + "." + segs[2], want: "error verifying token signature"},
		{name: "alg none", token: b64(`{"alg":"none","typ":"JWT"}`) + "." + segs[1] + ".", want: "unexpected algorithm"},
		{name: "HMAC keyed with the public key", token: signWith(t, jose.HS256, []byte(rsa.pem(t)), ok), want: "unexpected algorithm"},
		{name: "EC kid with RSA alg header", token: signWith(t, jose.RS256, jose.JSONWebKey{Key: stranger.priv, KeyID: "ec-1"}, ok), want: "error verifying token signature"},
		{name: "wrong issuer", token: ec.sign(t, with(ok, "iss", "https://evil.example.com")), want: "invalid issuer"},
		{name: "missing user claim", token: ec.sign(t, with(ok, "sub", nil)), want: `claim "sub" not found`},
		{name: "registered claim of the wrong type", token: ec.sign(t, with(ok, "sub", 42)), want: "malformed claims"},
		{name: "missing groups claim", token: ec.sign(t, with(ok, "org", nil)), want: "claim not found"},
		{name: "groups claim not strings", token: ec.sign(t, with(ok, "org", map[string]any{"teams": []any{1}})), want: "could not be parsed"},
		{name: "metadata claim not a string", token: ec.sign(t, with(ok, "email", []any{canary})), want: "error converting claim"},
		{name: "malformed", token: "not-a-jwt", want: "malformed token"},
		{name: "outside bound cidrs", remote: "192.0.2.1", token: rsa.sign(t, ok), want: "token_bound_cidrs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remote := tc.remote
			if remote == "" {
				remote = "203.0.113.7"
			}
			resp, err := h.loginFrom("ci", tc.token, remote)
			if !errors.Is(err, logical.ErrPermissionDenied) {
				t.Fatalf("login = %+v, %v; want permission denied", resp, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			assertNoLeak(t, err, tc.token)
		})
	}
}

// assertNoLeak fails if err quotes the token, one of its parts, or the
// canary claim value.
func assertNoLeak(t *testing.T, err error, token string) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, canary) {
		t.Errorf("error %q leaks a claim value", msg)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Errorf("error %q leaks part of the token", msg)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestLoginRequestErrors(t *testing.T) {
	h, _ := jwksHarness(t)
	tok := rsaKey(t, "rsa-1").sign(t, h.claims(testIssuer, "svc", "vault"))
	tests := []struct {
		name, role, token, want string
	}{
		{"missing role", "", tok, "missing role"},
		{"unknown role", "nope", tok, `role "nope" could not be found`},
		{"missing token", "ci", "", "missing token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.login(tc.role, tc.token)
			if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("login = %v, want 400 %q", err, tc.want)
			}
		})
	}
	t.Run("no config", func(t *testing.T) {
		_, err := newHarness(t, nil).login("ci", tok)
		if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), "could not load configuration") {
			t.Fatalf("login = %v", err)
		}
	})
}

func TestLoginClaimRules(t *testing.T) {
	k := rsaKey(t, "rsa-1")
	tests := []struct {
		name   string
		role   map[string]any
		claims func(base map[string]any) map[string]any
		// wantErr is "" for success.
		wantErr   string
		wantAlias string
	}{
		{name: "bound claims string match",
			role:      map[string]any{"bound_claims": map[string]any{"env": "prod"}},
			claims:    func(c map[string]any) map[string]any { return with(c, "env", "prod") },
			wantAlias: "svc"},
		{name: "bound claims mismatch",
			role:    map[string]any{"bound_claims": map[string]any{"env": "prod"}},
			claims:  func(c map[string]any) map[string]any { return with(c, "env", canary) },
			wantErr: `claim "env" does not match`},
		{name: "bound claims missing",
			role:    map[string]any{"bound_claims": map[string]any{"env": "prod"}},
			claims:  func(c map[string]any) map[string]any { return c },
			wantErr: `claim "env" is missing`},
		{name: "bound claims one of a list",
			role:      map[string]any{"bound_claims": map[string]any{"env": []any{"prod", "stage"}}},
			claims:    func(c map[string]any) map[string]any { return with(c, "env", "stage") },
			wantAlias: "svc"},
		{name: "bound claims against a list claim",
			role:      map[string]any{"bound_claims": map[string]any{"groups": "admins"}},
			claims:    func(c map[string]any) map[string]any { return with(c, "groups", []any{"users", "admins"}) },
			wantAlias: "svc"},
		{name: "bound claims nested pointer",
			role: map[string]any{"bound_claims": map[string]any{"/ctx/env/name": "prod"}},
			claims: func(c map[string]any) map[string]any {
				return with(c, "ctx", map[string]any{"env": map[string]any{"name": "prod"}})
			},
			wantAlias: "svc"},
		{name: "bound claims number and bool",
			role:      map[string]any{"bound_claims": map[string]any{"n": 42, "ok": true}},
			claims:    func(c map[string]any) map[string]any { return with(c, "n", 42, "ok", true) },
			wantAlias: "svc"},
		{name: "bound claims number is not a string",
			role:    map[string]any{"bound_claims": map[string]any{"n": "42"}},
			claims:  func(c map[string]any) map[string]any { return with(c, "n", 42) },
			wantErr: `claim "n" does not match`},
		{name: "glob match",
			role:      map[string]any{"bound_claims_type": "glob", "bound_claims": map[string]any{"ref": "refs/heads/release-*"}},
			claims:    func(c map[string]any) map[string]any { return with(c, "ref", "refs/heads/release-1.2") },
			wantAlias: "svc"},
		{name: "glob mismatch",
			role:    map[string]any{"bound_claims_type": "glob", "bound_claims": map[string]any{"ref": "refs/heads/release-*"}},
			claims:  func(c map[string]any) map[string]any { return with(c, "ref", "refs/heads/main") },
			wantErr: `claim "ref" does not match`},
		{name: "string type does not glob",
			role:    map[string]any{"bound_claims": map[string]any{"ref": "refs/heads/*"}},
			claims:  func(c map[string]any) map[string]any { return with(c, "ref", "refs/heads/main") },
			wantErr: "does not match"},
		{name: "bound subject",
			role:      map[string]any{"bound_subject": "svc"},
			claims:    func(c map[string]any) map[string]any { return c },
			wantAlias: "svc"},
		{name: "bound subject mismatch",
			role:    map[string]any{"bound_subject": "other"},
			claims:  func(c map[string]any) map[string]any { return c },
			wantErr: "invalid subject"},
		{name: "aud present but none bound",
			role:    map[string]any{"bound_subject": "svc"},
			claims:  func(c map[string]any) map[string]any { return with(c, "aud", "vault") },
			wantErr: "no audiences bound"},
		{name: "user claim by pointer",
			role:      map[string]any{"bound_subject": "svc", "user_claim": "/who/name", "user_claim_json_pointer": true},
			claims:    func(c map[string]any) map[string]any { return with(c, "who", map[string]any{"name": "alice"}) },
			wantAlias: "alice"},
		{name: "expired within clock skew",
			role:      map[string]any{"bound_subject": "svc"},
			claims:    func(c map[string]any) map[string]any { return with(c, "exp", c["iat"].(int64)-30) },
			wantAlias: "svc"},
		{name: "expired with skew disabled",
			role:    map[string]any{"bound_subject": "svc", "clock_skew_leeway": -1},
			claims:  func(c map[string]any) map[string]any { return with(c, "exp", c["iat"].(int64)-30) },
			wantErr: "token is expired"},
		{name: "no exp: iat plus expiration leeway",
			role: map[string]any{"bound_subject": "svc", "expiration_leeway": 600, "clock_skew_leeway": -1},
			claims: func(c map[string]any) map[string]any {
				return with(c, "exp", nil, "nbf", nil, "iat", c["iat"].(int64)-300)
			},
			wantAlias: "svc"},
		{name: "no exp: leeway exhausted",
			role: map[string]any{"bound_subject": "svc", "expiration_leeway": 60, "clock_skew_leeway": -1},
			claims: func(c map[string]any) map[string]any {
				return with(c, "exp", nil, "nbf", nil, "iat", c["iat"].(int64)-300)
			},
			wantErr: "token is expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.Must(logical.UpdateOperation, "config", map[string]any{"jwt_validation_pubkeys": []any{k.pem(t)}})
			h.Must(logical.UpdateOperation, "role/r", tc.role)
			base := h.claims(testIssuer, "svc", nil)
			tok := k.sign(t, tc.claims(base))
			resp, err := h.login("r", tok)
			if tc.wantErr != "" {
				if !errors.Is(err, logical.ErrPermissionDenied) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("login = %v, want denied %q", err, tc.wantErr)
				}
				assertNoLeak(t, err, tok)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Auth.Alias.Name != tc.wantAlias {
				t.Fatalf("alias = %q, want %q", resp.Auth.Alias.Name, tc.wantAlias)
			}
		})
	}
}

func TestLoginDefaultRole(t *testing.T) {
	h := newHarness(t, nil)
	k := ecKey(t, "ec-1")
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwt_validation_pubkeys": []any{k.pem(t)}, "default_role": "Dev"})
	h.Must(logical.UpdateOperation, "role/dev", map[string]any{"bound_subject": "svc"})
	resp, err := h.login("", k.sign(t, h.claims(testIssuer, "svc", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Auth.Alias.Metadata["role"] != "dev" {
		t.Fatalf("metadata = %v", resp.Auth.Alias.Metadata)
	}
}

func TestLoginAlgorithmsRestricted(t *testing.T) {
	h := newHarness(t, nil)
	rsa, ec := rsaKey(t, "rsa-1"), ecKey(t, "ec-1")
	h.Must(logical.UpdateOperation, "config", map[string]any{
		"jwt_validation_pubkeys": []any{rsa.pem(t), ec.pem(t)}, "jwt_supported_algs": []any{"RS256"},
	})
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	if _, err := h.login("r", rsa.sign(t, h.claims(testIssuer, "svc", nil))); err != nil {
		t.Fatalf("RS256 login: %v", err)
	}
	_, err := h.login("r", ec.sign(t, h.claims(testIssuer, "svc", nil)))
	if !errors.Is(err, logical.ErrPermissionDenied) || !strings.Contains(err.Error(), "unexpected algorithm") {
		t.Fatalf("ES256 login on an RS256 mount = %v", err)
	}
}

func TestLoginLockout(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_threshold": "3", "lockout_duration": "5m"})
	k := rsaKey(t, "rsa-1")
	h.Must(logical.UpdateOperation, "config", map[string]any{"jwt_validation_pubkeys": []any{k.pem(t)}})
	h.Must(logical.UpdateOperation, "role/r", map[string]any{"bound_subject": "svc"})
	bad := rsaKey(t, "stranger").sign(t, h.claims(testIssuer, "svc", nil))
	for i := range 3 {
		if _, err := h.login("r", bad); errors.Is(err, lockout.ErrLockedOut) || !errors.Is(err, logical.ErrPermissionDenied) {
			t.Fatalf("bad login %d = %v", i, err)
		}
	}
	good := func() string { return k.sign(t, h.claims(testIssuer, "svc", nil)) }
	if _, err := h.login("r", good()); !errors.Is(err, lockout.ErrLockedOut) {
		t.Fatalf("good login after threshold = %v, want locked out", err)
	}
	if _, err := h.loginFrom("r", good(), "198.51.100.1"); err != nil {
		t.Fatalf("login from another address = %v", err)
	}
	h.Clock.Advance(6 * time.Minute)
	if _, err := h.login("r", good()); err != nil {
		t.Fatalf("login after lockout_duration = %v", err)
	}
}

// TestLoginGitHubActions logs in with a token shaped as GitHub Actions'
// OIDC tokens, with a role bound the way GitHub's and Vault's docs show.
func TestLoginGitHubActions(t *testing.T) {
	const ghIssuer = "https://token.actions.githubusercontent.com"
	h := newHarness(t, nil)
	k := rsaKey(t, "gh-1")
	h.Must(logical.UpdateOperation, "config", map[string]any{
		"jwt_validation_pubkeys": []any{k.pem(t)}, "bound_issuer": ghIssuer, "jwt_supported_algs": "RS256",
	})
	h.Must(logical.UpdateOperation, "role/deploy", map[string]any{
		"role_type":         "jwt",
		"bound_audiences":   "https://github.com/acme",
		"bound_claims_type": "glob",
		"bound_claims":      map[string]any{"sub": "repo:acme/app:*", "repository": "acme/app", "ref": []any{"refs/heads/main", "refs/tags/v*"}},
		"user_claim":        "repository",
		"claim_mappings":    map[string]any{"repository": "repository", "ref": "ref", "actor": "actor", "workflow": "workflow"},
		"token_policies":    "deploy",
		"token_ttl":         "5m",
	})
	gh := func(repo, ref string) map[string]any {
		now := h.Clock.Now()
		return map[string]any{
			"jti": "example-id", "iss": ghIssuer, "aud": "https://github.com/acme",
			"sub": "repo:" + repo + ":ref:" + ref, "ref": ref, "sha": "example-sha",
			"repository": repo, "repository_owner": "acme", "repository_owner_id": "65",
			"repository_id": "74", "repository_visibility": "private",
			"run_id": "123", "run_number": "7", "run_attempt": "1",
			"actor": "octocat", "actor_id": "12", "workflow": "deploy", "event_name": "push",
			"ref_type": "branch", "head_ref": "", "base_ref": "",
			"job_workflow_ref": repo + "/.github/workflows/deploy.yml@" + ref,
			"nbf":              now.Add(-5 * time.Second).Unix(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		}
	}
	tests := []struct {
		name, repo, ref string
		claims          func(map[string]any) map[string]any
		wantErr         string
	}{
		{name: "main branch", repo: "acme/app", ref: "refs/heads/main"},
		{name: "release tag", repo: "acme/app", ref: "refs/tags/v1.4.0"},
		{name: "feature branch", repo: "acme/app", ref: "refs/heads/feature", wantErr: `claim "ref" does not match`},
		{name: "other repository", repo: "acme/other", ref: "refs/heads/main", wantErr: "does not match"},
		{name: "other audience", repo: "acme/app", ref: "refs/heads/main",
			claims: func(c map[string]any) map[string]any { return with(c, "aud", "sts.amazonaws.com") }, wantErr: "invalid audience"},
		{name: "not GitHub", repo: "acme/app", ref: "refs/heads/main",
			claims: func(c map[string]any) map[string]any { return with(c, "iss", "https://gitlab.example.com") }, wantErr: "invalid issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := gh(tc.repo, tc.ref)
			if tc.claims != nil {
				c = tc.claims(c)
			}
			resp, err := h.login("deploy", k.sign(t, c))
			if tc.wantErr != "" {
				if !errors.Is(err, logical.ErrPermissionDenied) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("login = %v, want denied %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := resp.Auth
			if a.Alias.Name != "acme/app" || a.Alias.Metadata["ref"] != tc.ref || a.Alias.Metadata["actor"] != "octocat" || a.Metadata["role"] != "deploy" {
				t.Fatalf("alias = %+v, metadata = %v", a.Alias, a.Metadata)
			}
			if !slices.Equal(a.Policies, []string{"deploy"}) || a.TTL != 5*time.Minute {
				t.Fatalf("policies = %v, ttl = %v", a.Policies, a.TTL)
			}
		})
	}
}
