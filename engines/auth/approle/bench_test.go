package approle_test

import (
	"testing"
)

// BenchmarkLogin is one role_id + secret_id login (unlimited uses):
// role_id index, role and secret id reads and three HMACs.
func BenchmarkLogin(b *testing.B) {
	h := newHarness(b, map[string]string{"lockout_disable": "true"})
	roleID := h.role("app", map[string]any{"token_policies": "p", "secret_id_bound_cidrs": "10.0.0.0/8"})
	secret, _ := h.secretID("app", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.login("10.0.0.1", roleID, secret); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginLimitedUses is a login that spends a use (a storage write).
func BenchmarkLoginLimitedUses(b *testing.B) {
	h := newHarness(b, map[string]string{"lockout_disable": "true"})
	roleID := h.role("app", map[string]any{"secret_id_num_uses": 0})
	secret, _ := h.secretID("app", map[string]any{"num_uses": 1 << 30})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.login("10.0.0.1", roleID, secret); err != nil {
			b.Fatal(err)
		}
	}
}
