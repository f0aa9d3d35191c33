package userpass_test

import (
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/auth/userpass"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// BenchmarkLogin is one successful login at DefaultArgon2Params: its
// ms/op is the argon2id cost a login spends on one core.
func BenchmarkLogin(b *testing.B) {
	benchLogin(b, "alice", "s3cret")
}

// BenchmarkLoginUnknownUser is a login for a user that does not exist:
// it should cost what BenchmarkLogin does.
func BenchmarkLoginUnknownUser(b *testing.B) {
	benchLogin(b, "nobody", "s3cret")
}

func benchLogin(b *testing.B, user, password string) {
	h := newHarnessOn(b, inmem.New(), authtest.NewClock(time.Now()), map[string]string{"lockout_disable": "true"}, userpass.DefaultArgon2Params())
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "s3cret"})
	b.ReportAllocs()
	for b.Loop() {
		h.login("127.0.0.1", user, password)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
