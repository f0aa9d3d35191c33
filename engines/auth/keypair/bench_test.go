package keypair_test

import (
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// BenchmarkLogin is one full login: a nonce request, a client-side
// signature and the login (nonce consumption, a storage read of config
// and of the key, an Ed25519 verification).
func BenchmarkLogin(b *testing.B) {
	f := newLoginFixture(b, nil)
	ts := stamp(f.Clock.Now())
	b.ReportAllocs()
	for b.Loop() {
		data := loginData(f.bob, testMount, "bob", f.nonce("bob"), ts)
		if _, err := f.login(data, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoginVerify is the server's share of a login alone: the
// nonces and signatures are made before the timer runs.
func BenchmarkLoginVerify(b *testing.B) {
	f := newLoginFixture(b, map[string]string{"lockout_disable": "true"})
	ts := stamp(f.Clock.Now())
	const batch = 16 // MaxNoncesPerName
	reqs := make([]map[string]any, 0, batch)
	b.ReportAllocs()
	for b.Loop() {
		if len(reqs) == 0 {
			b.StopTimer()
			for range batch {
				reqs = append(reqs, loginData(f.bob, testMount, "bob", f.nonce("bob"), ts))
			}
			b.StartTimer()
		}
		data := reqs[len(reqs)-1]
		reqs = reqs[:len(reqs)-1]
		if _, err := f.req(logical.UpdateOperation, "login", data, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNonce is the unauthenticated nonce request.
func BenchmarkNonce(b *testing.B) {
	f := newLoginFixture(b, nil)
	data := map[string]any{"name": "bob"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%keypair.MaxNoncesPerName == 0 {
			f.Clock.Advance(keypair.DefaultNonceTTL) // expire them, so the cap never binds
		}
		if _, err := f.Do(logical.UpdateOperation, "nonce", data); err != nil {
			b.Fatal(err)
		}
	}
}
