package keypair_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/keypair"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// loginFixture is a mount with alice (restricted to 10.1.0.0/16 and
// 192.0.2.9) and bob registered.
type loginFixture struct {
	*harness
	alice, bob ed25519.PrivateKey
	alicePub   ed25519.PublicKey
}

const aliceAddr = "10.1.2.3"

func newLoginFixture(t testing.TB, opts map[string]string) *loginFixture {
	t.Helper()
	h := newHarness(t, opts)
	alicePub, alice := newKey(1)
	bobPub, bob := newKey(2)
	h.register("alice", alicePub, map[string]any{
		"token_policies": "dev,ops", "token_ttl": "1h", "token_max_ttl": "4h", "token_period": "30m",
		"token_num_uses": 5, "token_bound_cidrs": "10.1.0.0/16,192.0.2.9", "token_no_default_policy": true,
	})
	h.register("bob", bobPub, nil)
	return &loginFixture{harness: h, alice: alice, bob: bob, alicePub: alicePub}
}

func (f *loginFixture) login(data map[string]any, remote string) (*logical.Response, error) {
	return f.req(logical.UpdateOperation, "login", data, remote)
}

func TestLoginSuccess(t *testing.T) {
	f := newLoginFixture(t, nil)
	n := f.nonce("alice")
	resp, err := f.login(loginData(f.alice, testMount, "alice", n, stamp(f.Clock.Now())), aliceAddr)
	if err != nil {
		t.Fatal(err)
	}
	fp := keypair.Fingerprint(f.alicePub)
	want := &logical.Auth{
		Policies:   []string{"dev", "ops"},
		Metadata:   map[string]string{"name": "alice", "fingerprint": fp},
		NumUses:    5,
		Alias:      &logical.Alias{Name: "alice", Metadata: map[string]string{"name": "alice", "fingerprint": fp}},
		EntityType: "User",
		TTL:        time.Hour, MaxTTL: 4 * time.Hour, Period: 30 * time.Minute,
		BoundCIDRs:      []string{"10.1.0.0/16", "192.0.2.9"},
		NoDefaultPolicy: true,
	}
	if resp == nil || !reflect.DeepEqual(resp.Auth, want) {
		t.Fatalf("auth = %+v\nwant %+v", resp.Auth, want)
	}
	if resp.Auth.ClientToken != "" || resp.Data != nil {
		t.Fatal("the login minted a token or returned data")
	}
	// A key without token fields asks for the mount's defaults.
	resp, err = f.login(loginData(f.bob, testMount, "bob", f.nonce("bob"), stamp(f.Clock.Now())), "")
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.Auth; a.Alias.Name != "bob" || a.TTL != 0 || a.BoundCIDRs != nil || a.Policies == nil || len(a.Policies) != 0 {
		t.Fatalf("bob's auth = %+v", a)
	}
}

func TestLoginFailures(t *testing.T) {
	type setup func(f *loginFixture) (data map[string]any, remote string)
	signed := func(key func(*loginFixture) ed25519.PrivateKey, mount, name, nonceFor string, skew time.Duration) setup {
		return func(f *loginFixture) (map[string]any, string) {
			n := f.nonce(nonceFor)
			return loginData(key(f), mount, name, n, stamp(f.Clock.Now().Add(skew))), aliceAddr
		}
	}
	alice := func(f *loginFixture) ed25519.PrivateKey { return f.alice }
	bob := func(f *loginFixture) ed25519.PrivateKey { return f.bob }
	tests := []struct {
		name  string
		setup setup
	}{
		{"signature by another key", signed(bob, testMount, "alice", "alice", 0)},
		{"signature for another mount", signed(alice, "auth/keypair-other/", "alice", "alice", 0)},
		{"nonce issued for another name", signed(bob, testMount, "bob", "alice", 0)},
		{"timestamp too old", signed(alice, testMount, "alice", "alice", -31*time.Second)},
		{"timestamp too new", signed(alice, testMount, "alice", "alice", 31*time.Second)},
		{"unknown name", signed(alice, testMount, "mallory", "mallory", 0)},
		{"nonce never issued", func(f *loginFixture) (map[string]any, string) {
			return loginData(f.alice, testMount, "alice", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", stamp(f.Clock.Now())), aliceAddr
		}},
		{"expired nonce", func(f *loginFixture) (map[string]any, string) {
			n := f.nonce("alice")
			f.Clock.Advance(61 * time.Second)
			return loginData(f.alice, testMount, "alice", n, stamp(f.Clock.Now())), aliceAddr
		}},
		{"timestamp before the nonce", func(f *loginFixture) (map[string]any, string) {
			f.Clock.Advance(50 * time.Second)
			issued := f.Clock.Now()
			n := f.nonce("alice")
			return loginData(f.alice, testMount, "alice", n, stamp(issued.Add(-31*time.Second))), aliceAddr
		}},
		{"outside the bound cidrs", func(f *loginFixture) (map[string]any, string) {
			return loginData(f.alice, testMount, "alice", f.nonce("alice"), stamp(f.Clock.Now())), "10.2.0.1"
		}},
		{"bound cidrs and no client address", func(f *loginFixture) (map[string]any, string) {
			return loginData(f.alice, testMount, "alice", f.nonce("alice"), stamp(f.Clock.Now())), ""
		}},
		{"signature of other bytes", func(f *loginFixture) (map[string]any, string) {
			d := loginData(f.alice, testMount, "alice", f.nonce("alice"), stamp(f.Clock.Now()))
			d["timestamp"] = stamp(f.Clock.Now().Add(time.Second))
			return d, aliceAddr
		}},
	}
	// The error every failure must be: the same as a bad signature's.
	ref := newLoginFixture(t, nil)
	_, refErr := ref.login(loginData(ref.bob, testMount, "alice", ref.nonce("alice"), stamp(ref.Clock.Now())), aliceAddr)
	if !errors.Is(refErr, keypair.ErrLoginFailed) || !errors.Is(refErr, logical.ErrPermissionDenied) {
		t.Fatalf("bad signature = %v, want ErrLoginFailed (a 403)", refErr)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newLoginFixture(t, nil)
			data, remote := tc.setup(f)
			resp, err := f.login(data, remote)
			if resp != nil || err == nil || err.Error() != refErr.Error() || !errors.Is(err, keypair.ErrLoginFailed) {
				t.Fatalf("login = %v, %v; want exactly %v", resp, err, refErr)
			}
		})
	}
}

func TestLoginTimestampWithinSkew(t *testing.T) {
	for _, skew := range []time.Duration{-30 * time.Second, -time.Second, time.Second, 30 * time.Second} {
		f := newLoginFixture(t, nil)
		f.Clock.Advance(40 * time.Second) // so that issue-30s is not the binding bound
		n := f.nonce("alice")
		f.Clock.Advance(time.Second)
		if _, err := f.login(loginData(f.alice, testMount, "alice", n, stamp(f.Clock.Now().Add(skew))), aliceAddr); err != nil {
			t.Errorf("timestamp %v from now: %v", skew, err)
		}
	}
}

func TestLoginReplay(t *testing.T) {
	f := newLoginFixture(t, nil)
	data := loginData(f.alice, testMount, "alice", f.nonce("alice"), stamp(f.Clock.Now()))
	if _, err := f.login(data, aliceAddr); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(data, aliceAddr); !errors.Is(err, keypair.ErrLoginFailed) {
		t.Fatalf("replay = %v, want ErrLoginFailed", err)
	}
	// A failed attempt uses the nonce up too.
	n := f.nonce("alice")
	bad := loginData(f.bob, testMount, "alice", n, stamp(f.Clock.Now()))
	if _, err := f.login(bad, aliceAddr); !errors.Is(err, keypair.ErrLoginFailed) {
		t.Fatalf("bad signature = %v", err)
	}
	if _, err := f.login(loginData(f.alice, testMount, "alice", n, stamp(f.Clock.Now())), aliceAddr); !errors.Is(err, keypair.ErrLoginFailed) {
		t.Fatalf("good signature on a nonce a failure used = %v, want ErrLoginFailed", err)
	}
}

func TestLoginConcurrentReplay(t *testing.T) {
	const racers = 32
	// Lockout off, so that every racer reaches the nonce.
	f := newLoginFixture(t, map[string]string{"lockout_disable": "true"})
	data := loginData(f.alice, testMount, "alice", f.nonce("alice"), stamp(f.Clock.Now()))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes int
		others    []error
	)
	start := make(chan struct{})
	for range racers {
		wg.Go(func() {
			<-start
			_, err := f.login(data, aliceAddr)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				successes++
			case !errors.Is(err, keypair.ErrLoginFailed):
				others = append(others, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if successes != 1 || len(others) != 0 {
		t.Fatalf("%d of %d replays succeeded (unexpected errors %v), want exactly 1", successes, racers, others)
	}
}

func TestLoginMalformed(t *testing.T) {
	f := newLoginFixture(t, nil)
	n := f.nonce("alice")
	good := loginData(f.alice, testMount, "alice", n, stamp(f.Clock.Now()))
	tests := []struct {
		field string
		value any
	}{
		{"timestamp", "yesterday"},
		{"timestamp", "2025-03-04 05:06:07"},
		{"signature", "not base64!"},
		{"signature", base64.StdEncoding.EncodeToString(make([]byte, 63))},
		{"nonce", "short"},
		{"nonce", n + "="},
		{"name", "Alice"},
		{"name", nil},
	}
	for _, tc := range tests {
		data := map[string]any{}
		for k, v := range good {
			data[k] = v
		}
		data[tc.field] = tc.value
		var ire *logical.InvalidRequestError
		if _, err := f.login(data, aliceAddr); !errors.As(err, &ire) || ire.Field != tc.field {
			t.Errorf("%s=%v: %v, want a 400 on %s", tc.field, tc.value, err, tc.field)
		}
	}
	// Malformed attempts neither use the nonce nor count as failures.
	if _, err := f.login(good, aliceAddr); err != nil {
		t.Fatalf("login after malformed attempts: %v", err)
	}
}

func TestLoginLockout(t *testing.T) {
	f := newLoginFixture(t, map[string]string{"lockout_threshold": "3", "lockout_duration": "10m"})
	fail := func(name, remote string) {
		t.Helper()
		_, err := f.login(loginData(f.bob, testMount, name, f.nonce(name), stamp(f.Clock.Now())), remote)
		if !errors.Is(err, keypair.ErrLoginFailed) {
			t.Fatalf("bad login = %v", err)
		}
	}
	for range 3 {
		fail("alice", aliceAddr)
	}
	good := func(remote string) error {
		_, err := f.login(loginData(f.alice, testMount, "alice", f.nonce("alice"), stamp(f.Clock.Now())), remote)
		return err
	}
	if err := good(aliceAddr); !errors.Is(err, lockout.ErrLockedOut) || !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("good login while locked = %v, want ErrLockedOut", err)
	}
	if err := good("10.1.9.9"); err != nil {
		t.Fatalf("good login from another address = %v", err)
	}
	// Unknown names lock out the same way (no existence oracle).
	for range 3 {
		fail("mallory", aliceAddr)
	}
	if _, err := f.login(loginData(f.bob, testMount, "mallory", f.nonce("mallory"), stamp(f.Clock.Now())), aliceAddr); !errors.Is(err, lockout.ErrLockedOut) {
		t.Fatalf("unknown name after the threshold = %v, want ErrLockedOut", err)
	}
	f.Clock.Advance(11 * time.Minute)
	if err := good(aliceAddr); err != nil {
		t.Fatalf("good login after the lockout = %v", err)
	}
}

func TestNonce(t *testing.T) {
	f := newLoginFixture(t, nil)
	resp := f.Must(logical.UpdateOperation, "nonce", map[string]any{"name": "nobody"})
	n, _ := resp.Data["nonce"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(raw) != 32 {
		t.Fatalf("nonce %q is not 256 bits of base64url: %v", n, err)
	}
	if want := stamp(f.Clock.Now().Add(keypair.DefaultNonceTTL)); resp.Data["expires_at"] != want {
		t.Fatalf("expires_at = %v, want %s", resp.Data["expires_at"], want)
	}
	if n2 := f.nonce("nobody"); n2 == n {
		t.Fatal("two nonces are equal")
	}
	for _, bad := range []map[string]any{nil, {"name": ""}, {"name": "a/b"}, {"name": "a\nb"}} {
		if _, err := f.Do(logical.UpdateOperation, "nonce", bad); !errors.Is(err, logical.ErrInvalidRequest) {
			t.Errorf("nonce %v = %v, want 400", bad, err)
		}
	}
}

func TestNonceCapPerName(t *testing.T) {
	f := newLoginFixture(t, nil)
	nonces := make([]string, 0, keypair.MaxNoncesPerName)
	for range keypair.MaxNoncesPerName {
		nonces = append(nonces, f.nonce("alice"))
	}
	if _, err := f.Do(logical.UpdateOperation, "nonce", map[string]any{"name": "alice"}); !errors.Is(err, logical.ErrRateLimited) {
		t.Fatalf("nonce past the cap = %v, want ErrRateLimited", err)
	}
	f.nonce("bob") // other names are not affected
	// Using one frees one slot.
	if _, err := f.login(loginData(f.alice, testMount, "alice", nonces[3], stamp(f.Clock.Now())), aliceAddr); err != nil {
		t.Fatal(err)
	}
	f.nonce("alice")
	if _, err := f.Do(logical.UpdateOperation, "nonce", map[string]any{"name": "alice"}); !errors.Is(err, logical.ErrRateLimited) {
		t.Fatalf("nonce past the cap = %v, want ErrRateLimited", err)
	}
	// Expiry frees them all.
	f.Clock.Advance(keypair.DefaultNonceTTL)
	for range keypair.MaxNoncesPerName {
		f.nonce("alice")
	}
}
