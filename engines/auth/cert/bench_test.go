package cert_test

import (
	"fmt"
	"testing"
)

// BenchmarkLogin measures a successful login (leaf and intermediate
// presented, root trusted) with the trusting role alone, and last of
// ten roles that do not trust the chain.
func BenchmarkLogin(b *testing.B) {
	p := newPKI(b)
	chain := chainOf(newLeaf(b, p.inter, "svc", nil), p.inter)
	for _, others := range []int{0, 9} {
		b.Run(fmt.Sprintf("roles=%d", others+1), func(b *testing.B) {
			m := newMount(b, map[string]string{"lockout_disable": "true"})
			for i := range others {
				m.write(b, fmt.Sprintf("a%02d", i), map[string]any{"certificate": pemOf(p.other)})
			}
			m.write(b, "z", map[string]any{"certificate": pemOf(p.root)})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.login(chain, "", "127.0.0.1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
