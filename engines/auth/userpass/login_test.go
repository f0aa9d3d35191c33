package userpass_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/auth/userpass"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestLoginFillsAuth(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "users/alice", map[string]any{
		"password": "s3cret", "token_policies": "b,a", "token_ttl": "10m", "token_max_ttl": "1h",
		"token_period": "5m", "token_num_uses": 3, "token_bound_cidrs": "10.0.0.0/8,192.168.1.1",
		"token_no_default_policy": true,
	})
	resp, err := h.login("10.2.3.4", "Alice", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	want := &logical.Auth{
		Policies: []string{"a", "b"}, Metadata: map[string]string{"username": "alice"},
		Renewable: true, NumUses: 3,
		Alias: &logical.Alias{Name: "alice"}, EntityType: "User",
		TTL: 10 * time.Minute, MaxTTL: time.Hour, Period: 5 * time.Minute,
		BoundCIDRs: []string{"10.0.0.0/8", "192.168.1.1"}, NoDefaultPolicy: true,
	}
	if !reflect.DeepEqual(resp.Auth, want) {
		t.Fatalf("auth = %+v\nwant %+v", resp.Auth, want)
	}
	if resp.Auth.ClientToken != "" || resp.Data != nil {
		t.Fatalf("login minted or returned data: %+v", resp)
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name, addr, user, password string
	}{
		{"wrong password", "10.0.0.1", "alice", "wrong"},
		{"unknown user", "10.0.0.1", "mallory", "s3cret"},
		{"password of another user", "10.0.0.1", "bob", "s3cret"},
		{"outside token_bound_cidrs", "192.168.0.1", "alice", "s3cret"},
		{"no client address with cidrs", "", "alice", "s3cret"},
		{"case of the password matters", "10.0.0.1", "alice", "S3CRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "s3cret", "token_bound_cidrs": "10.0.0.0/8"})
			h.Must(logical.CreateOperation, "users/bob", map[string]any{"password": "other"})
			resp, err := h.login(tt.addr, tt.user, tt.password)
			if !errors.Is(err, userpass.ErrInvalidCredentials) || !errors.Is(err, logical.ErrPermissionDenied) || resp != nil {
				t.Fatalf("login = %v, %v; want ErrInvalidCredentials", resp, err)
			}
			if err.Error() != "permission denied: invalid username or password" {
				t.Fatalf("message %q says more than Vault's", err)
			}
		})
	}
	h := newHarness(t, nil)
	if _, err := h.login("10.0.0.1", "alice", ""); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("login without password: %v", err)
	}
}

func TestLockout(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_threshold": "3", "lockout_duration": "5m"})
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "s3cret"})
	for i := 0; i < 3; i++ {
		if _, err := h.login("10.0.0.1", "alice", "wrong"); !errors.Is(err, userpass.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := h.login("10.0.0.1", "ALICE", "s3cret"); !errors.Is(err, lockout.ErrLockedOut) {
		t.Fatalf("right password from a locked-out address: %v", err)
	}
	if _, err := h.login("10.0.0.2", "alice", "s3cret"); err != nil {
		t.Fatalf("another address is locked out too: %v", err)
	}
	h.Clock.Advance(5 * time.Minute)
	if _, err := h.login("10.0.0.1", "alice", "s3cret"); err != nil {
		t.Fatalf("still locked after lockout_duration: %v", err)
	}
	// Unknown users lock out alike: a lockout tells nothing about existence.
	for i := 0; i < 3; i++ {
		h.login("10.0.0.1", "nobody", "x")
	}
	if _, err := h.login("10.0.0.1", "nobody", "x"); !errors.Is(err, lockout.ErrLockedOut) {
		t.Fatalf("unknown user not locked out: %v", err)
	}
}

func TestNoPasswordLeaks(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_threshold": "2"})
	const pw, wrong, newPW = "pa55-word-alpha", "guess-word-beta", "pa55-word-gamma"
	var out strings.Builder
	record := func(resp *logical.Response, err error) {
		fmt.Fprintf(&out, "%+v %v\n", resp, err)
		if resp != nil {
			fmt.Fprintf(&out, "%+v %+v\n", resp.Data, resp.Auth)
		}
	}
	record(h.Do(logical.CreateOperation, "users/alice", map[string]any{"password": pw, "token_bound_cidrs": "10.0.0.0/8"}))
	record(h.Do(logical.CreateOperation, "users/bad", map[string]any{"password": pw, "token_ttl": "nonsense"}))
	record(h.Do(logical.ReadOperation, "users/alice", nil))
	record(h.login("10.0.0.1", "alice", pw))
	record(h.login("192.168.0.1", "alice", pw))
	record(h.login("10.0.0.1", "alice", wrong))
	record(h.login("10.0.0.1", "ghost", wrong))
	record(h.login("10.0.0.1", "alice", wrong))
	record(h.login("10.0.0.1", "alice", pw)) // locked out
	record(h.Do(logical.UpdateOperation, "users/alice/password", map[string]any{"password": newPW}))
	record(h.Do(logical.UpdateOperation, "users/ghost/password", map[string]any{"password": newPW}))

	if !strings.Contains(h.logs.String(), "login failed") {
		t.Fatalf("failed logins were not logged: %q", h.logs.String())
	}
	stored := h.dump()
	for _, s := range []string{pw, wrong, newPW} {
		if strings.Contains(out.String(), s) {
			t.Errorf("a response or error carries a password: %s", out.String())
		}
		if strings.Contains(h.logs.String(), s) {
			t.Errorf("a log line carries a password: %s", h.logs.String())
		}
		if strings.Contains(stored, s) {
			t.Errorf("storage holds a password in the clear")
		}
	}
}

func TestPersistenceAndRehash(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "s3cret", "token_policies": "p"})
	before := h.stored("alice")

	// A backend with raised parameters still verifies the old hash...
	raised := fastParams
	raised.Memory, raised.Time = 128, 2
	h2 := h.restart(raised)
	resp, err := h2.login("127.0.0.1", "alice", "s3cret")
	if err != nil {
		t.Fatalf("login on a fresh backend with raised parameters: %v", err)
	}
	if resp.Auth.Policies[0] != "p" {
		t.Fatalf("auth = %+v", resp.Auth)
	}
	// ...and upgrades it on that successful login.
	after := h2.stored("alice")
	if !strings.Contains(before, "m=64,t=1,p=1") || !strings.Contains(after, "m=128,t=2,p=1") {
		t.Fatalf("hash not upgraded:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := h2.login("127.0.0.1", "alice", "s3cret"); err != nil {
		t.Fatalf("login with the upgraded hash: %v", err)
	}
	if h2.stored("alice") != after {
		t.Fatal("a hash of the current parameters was rewritten")
	}
	// A failed login never rewrites the hash.
	h3 := h2.restart(fastParams)
	h3.login("127.0.0.1", "alice", "wrong")
	if h3.stored("alice") != after {
		t.Fatal("a failed login rewrote the hash")
	}
}

func TestDefaultParamsLogin(t *testing.T) {
	h := newHarnessOn(t, newHarness(t, nil).Phys, authtest.NewClock(time.Now()), nil, userpass.DefaultArgon2Params())
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "s3cret"})
	if !strings.Contains(h.stored("alice"), "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored = %s", h.stored("alice"))
	}
	if _, err := h.login("127.0.0.1", "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.login("127.0.0.1", "alice", "nope"); !errors.Is(err, userpass.ErrInvalidCredentials) {
		t.Fatal(err)
	}
}

// TestConcurrentLoginsDuringRehash runs logins that all upgrade the same
// hash, and a password reset, at once (run with -race): every login with
// the right password succeeds and the hash ends on the new parameters.
func TestConcurrentLoginsDuringRehash(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_disable": "true"})
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "s3cret"})
	raised := fastParams
	raised.Time = 2
	h2 := h.restart(raised)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h2.login("127.0.0.1", "alice", "s3cret"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("login: %v", err)
	}
	if !strings.Contains(h2.stored("alice"), "t=2") {
		t.Fatalf("hash not upgraded: %s", h2.stored("alice"))
	}
	if _, err := h2.login("127.0.0.1", "alice", "s3cret"); err != nil {
		t.Fatalf("login after the upgrade: %v", err)
	}
}
