package jwt_test

import (
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// BenchmarkLoginCachedJWKS is a successful login (storage reads, RS256
// verification, claim checks) against a JWKS that is already cached.
func BenchmarkLoginCachedJWKS(b *testing.B) {
	for _, tc := range []struct {
		name string
		key  *signingKey
	}{{"RS256", rsaKey(b, "rsa-1")}, {"ES256", ecKey(b, "ec-1")}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b, nil)
			srv := newJWKSServer(b, tc.key)
			h.Must(logical.UpdateOperation, "config", map[string]any{"jwks_url": srv.URL, "bound_issuer": testIssuer})
			h.Must(logical.UpdateOperation, "role/r", map[string]any{
				"bound_audiences": "vault", "bound_claims": map[string]any{"env": "prod"}, "token_policies": "p",
			})
			tok := tc.key.sign(b, with(h.claims(testIssuer, "svc", "vault"), "env", "prod"))
			if _, err := h.login("r", tok); err != nil {
				b.Fatal(err)
			}
			hits := srv.hits.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := h.login("r", tok); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if srv.hits.Load() != hits {
				b.Fatal("the benchmark fetched the JWKS")
			}
		})
	}
}
