package approle_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/approle"
	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestLoginFillsAuth(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("ci", map[string]any{
		"token_policies": "deploy,read", "token_ttl": "20m", "token_max_ttl": "2h", "token_explicit_max_ttl": "1h",
		"token_period": "0", "token_num_uses": 9, "token_bound_cidrs": "10.0.0.0/8", "token_no_default_policy": true,
	})
	secret, _ := h.secretID("ci", map[string]any{"metadata": `{"build":"42"}`})
	resp, err := h.login("10.1.2.3", roleID, secret)
	if err != nil {
		t.Fatal(err)
	}
	want := &logical.Auth{
		Policies:  []string{"deploy", "read"},
		Metadata:  map[string]string{"role_name": "ci", "build": "42"},
		Renewable: true, NumUses: 9,
		Alias:      &logical.Alias{Name: roleID, EntityName: "ci", Metadata: map[string]string{"role_name": "ci"}},
		EntityType: "Service",
		TTL:        20 * time.Minute, MaxTTL: time.Hour,
		BoundCIDRs:      []string{"10.0.0.0/8"},
		NoDefaultPolicy: true,
	}
	if !reflect.DeepEqual(resp.Auth, want) {
		t.Fatalf("auth = %+v\nwant %+v", resp.Auth, want)
	}
	if resp.Auth.ClientToken != "" || resp.Data != nil {
		t.Fatalf("login minted or returned data: %+v", resp)
	}

	// A secret id's token_bound_cidrs replace the role's on its tokens.
	secret2, _ := h.secretID("ci", map[string]any{"token_bound_cidrs": "10.9.0.0/16"})
	resp, err = h.login("10.1.2.3", roleID, secret2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Auth.BoundCIDRs, []string{"10.9.0.0/16"}) {
		t.Fatalf("bound cidrs = %v", resp.Auth.BoundCIDRs)
	}
}

func TestLoginWithoutSecretID(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("open", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "192.168.0.0/24"})
	resp, err := h.login("192.168.0.7", roleID, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Auth.Alias.Name != roleID || resp.Auth.Metadata["role_name"] != "open" {
		t.Fatalf("auth = %+v", resp.Auth)
	}
}

func TestLoginRefused(t *testing.T) {
	type setup struct {
		h              *harness
		roleID, secret string
	}
	tests := []struct {
		name  string
		role  map[string]any
		sid   map[string]any
		login func(s setup) (*logical.Response, error)
	}{
		{"wrong secret id", nil, nil, func(s setup) (*logical.Response, error) { return s.h.login("127.0.0.1", s.roleID, "wrong") }},
		{"unknown role id", nil, nil, func(s setup) (*logical.Response, error) { return s.h.login("127.0.0.1", "no-such-role", s.secret) }},
		{"another role's secret id", nil, nil, func(s setup) (*logical.Response, error) {
			otherID := s.h.role("other", nil)
			return s.h.login("127.0.0.1", otherID, s.secret)
		}},
		{"expired secret id", nil, map[string]any{"ttl": "10m"}, func(s setup) (*logical.Response, error) {
			s.h.Clock.Advance(10 * time.Minute)
			return s.h.login("127.0.0.1", s.roleID, s.secret)
		}},
		{"uses exhausted", nil, map[string]any{"num_uses": 2}, func(s setup) (*logical.Response, error) {
			for i := 0; i < 2; i++ {
				if _, err := s.h.login("127.0.0.1", s.roleID, s.secret); err != nil {
					return nil, fmt.Errorf("use %d: %w", i+1, err)
				}
			}
			return s.h.login("127.0.0.1", s.roleID, s.secret)
		}},
		{"outside the role's cidrs", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8"}, nil, func(s setup) (*logical.Response, error) {
			return s.h.login("192.168.1.1", s.roleID, s.secret)
		}},
		{"outside the secret id's cidr_list", nil, map[string]any{"cidr_list": "10.0.0.0/8"}, func(s setup) (*logical.Response, error) {
			return s.h.login("192.168.1.1", s.roleID, s.secret)
		}},
		{"no client address with cidrs", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8"}, nil, func(s setup) (*logical.Response, error) {
			return s.h.login("", s.roleID, s.secret)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			roleID := h.role("app", tt.role)
			secret, _ := h.secretID("app", tt.sid)
			resp, err := tt.login(setup{h, roleID, secret})
			if !errors.Is(err, approle.ErrInvalidCredentials) || !errors.Is(err, logical.ErrPermissionDenied) || resp != nil {
				t.Fatalf("login = %v, %v; want ErrInvalidCredentials", resp, err)
			}
			if err.Error() != "permission denied: invalid role or secret ID" {
				t.Fatalf("message %q says more than Vault's", err)
			}
		})
	}
}

func TestLoginBadRequest(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	if _, err := h.login("127.0.0.1", "", "x"); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("login without role_id: %v", err)
	}
	if _, err := h.login("127.0.0.1", roleID, ""); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("login without secret_id: %v", err)
	}
}

func TestExpiredSecretIDIsDeleted(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	secret, _ := h.secretID("app", map[string]any{"ttl": "1m"})
	h.Clock.Advance(59 * time.Second)
	if _, err := h.login("127.0.0.1", roleID, secret); err != nil {
		t.Fatalf("login before expiry: %v", err)
	}
	h.Clock.Advance(time.Second)
	if _, err := h.login("127.0.0.1", roleID, secret); !errors.Is(err, approle.ErrInvalidCredentials) {
		t.Fatalf("login at expiry: %v", err)
	}
	if n := len(h.List("secret_id/app/")) + len(h.List("accessor/")); n != 0 {
		t.Fatalf("expired secret id still stored (%d keys)", n)
	}
}

func TestNumUsesDecrement(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	secret, _ := h.secretID("app", map[string]any{"num_uses": 3})
	for want := 2; want >= 1; want-- {
		if _, err := h.login("127.0.0.1", roleID, secret); err != nil {
			t.Fatal(err)
		}
		got := h.Must(logical.UpdateOperation, "role/app/secret-id/lookup", map[string]any{"secret_id": secret}).Data["secret_id_num_uses"]
		if got != want {
			t.Fatalf("uses left = %v, want %d", got, want)
		}
	}
	if _, err := h.login("127.0.0.1", roleID, secret); err != nil {
		t.Fatal(err)
	}
	if n := len(h.List("secret_id/app/")) + len(h.List("accessor/")); n != 0 {
		t.Fatalf("used-up secret id still stored (%d keys)", n)
	}
}

func TestConcurrentLoginsSpendEachUseOnce(t *testing.T) {
	for _, uses := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d uses", uses), func(t *testing.T) {
			h := newHarness(t, map[string]string{"lockout_disable": "true"})
			roleID := h.role("app", nil)
			secret, _ := h.secretID("app", map[string]any{"num_uses": uses})
			var ok, denied atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := h.login("127.0.0.1", roleID, secret)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, approle.ErrInvalidCredentials):
						denied.Add(1)
					default:
						t.Errorf("login: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if ok.Load() != int32(uses) || denied.Load() != int32(16-uses) {
				t.Fatalf("%d logins succeeded and %d were denied, want %d and %d", ok.Load(), denied.Load(), uses, 16-uses)
			}
		})
	}
}

func TestLockout(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_threshold": "3", "lockout_duration": "10m"})
	roleID := h.role("app", nil)
	secret, _ := h.secretID("app", nil)
	for i := 0; i < 3; i++ {
		if _, err := h.login("10.0.0.1", roleID, "wrong"); !errors.Is(err, approle.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := h.login("10.0.0.1", roleID, secret); !errors.Is(err, lockout.ErrLockedOut) {
		t.Fatalf("right secret id from a locked-out address: %v", err)
	}
	if _, err := h.login("10.0.0.2", roleID, secret); err != nil {
		t.Fatalf("another address is locked out too: %v", err)
	}
	h.Clock.Advance(10 * time.Minute)
	if _, err := h.login("10.0.0.1", roleID, secret); err != nil {
		t.Fatalf("still locked out after lockout_duration: %v", err)
	}

	// Unknown role ids lock out too, without touching real roles.
	for i := 0; i < 3; i++ {
		h.login("10.0.0.3", "guess", "x")
	}
	if _, err := h.login("10.0.0.3", "guess", "x"); !errors.Is(err, lockout.ErrLockedOut) {
		t.Fatalf("guessing role ids is not locked out: %v", err)
	}
	if _, err := h.login("10.0.0.3", roleID, secret); err != nil {
		t.Fatalf("a locked-out guess locked the real role: %v", err)
	}
}

func TestLockoutDisabled(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_threshold": "1", "lockout_disable": "true"})
	roleID := h.role("app", nil)
	secret, _ := h.secretID("app", nil)
	for i := 0; i < 3; i++ {
		h.login("10.0.0.1", roleID, "wrong")
	}
	if _, err := h.login("10.0.0.1", roleID, secret); err != nil {
		t.Fatalf("lockout_disable: %v", err)
	}
}

func TestNoSecretLeaks(t *testing.T) {
	h := newHarness(t, map[string]string{"lockout_threshold": "2"})
	roleID := h.role("app", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/8"})
	secret, accessor := h.secretID("app", nil)
	h.Must(logical.UpdateOperation, "role/app/custom-secret-id", map[string]any{"secret_id": "custom-s3cret-value"})
	wrong := "wrong-guess-of-secret"

	var out strings.Builder
	record := func(resp *logical.Response, err error) {
		fmt.Fprintf(&out, "%+v %v\n", resp, err)
		if resp != nil {
			fmt.Fprintf(&out, "%+v %+v\n", resp.Data, resp.Auth)
		}
	}
	record(h.login("10.0.0.1", roleID, wrong))
	record(h.login("192.168.0.1", roleID, secret))
	record(h.login("10.0.0.1", roleID, "custom-s3cret-value"))
	record(h.login("10.0.0.1", roleID, wrong))
	record(h.login("10.0.0.1", roleID, wrong))
	record(h.login("10.0.0.1", roleID, secret)) // locked out
	record(h.Do(logical.UpdateOperation, "role/app/secret-id/lookup", map[string]any{"secret_id": secret}))
	record(h.Do(logical.UpdateOperation, "role/app/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor}))
	record(h.Do(logical.ListOperation, "role/app/secret-id", nil))
	record(h.Do(logical.ReadOperation, "role/app", nil))
	record(h.Do(logical.UpdateOperation, "role/app/custom-secret-id", map[string]any{"secret_id": "custom-s3cret-value"}))

	if !strings.Contains(h.logs.String(), "login failed") {
		t.Fatalf("failed logins were not logged: %q", h.logs.String())
	}
	stored := h.Dump()
	for _, s := range []string{secret, "custom-s3cret-value", wrong} {
		if strings.Contains(out.String(), s) {
			t.Errorf("a response or error carries a secret id: %s", out.String())
		}
		if strings.Contains(h.logs.String(), s) {
			t.Errorf("a log line carries a secret id: %s", h.logs.String())
		}
		if strings.Contains(stored, s) {
			t.Errorf("storage holds a secret id in the clear")
		}
	}
	if strings.Contains(h.logs.String(), roleID) {
		t.Errorf("a log line carries the role_id: %s", h.logs.String())
	}
}

func TestPersistence(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", map[string]any{"token_policies": "p"})
	secret, _ := h.secretID("app", map[string]any{"num_uses": 2})
	if _, err := h.login("127.0.0.1", roleID, secret); err != nil {
		t.Fatal(err)
	}
	h2 := h.restart()
	resp, err := h2.login("127.0.0.1", roleID, secret)
	if err != nil {
		t.Fatalf("login on a fresh backend: %v", err)
	}
	if resp.Auth.Policies[0] != "p" {
		t.Fatalf("auth = %+v", resp.Auth)
	}
	if _, err := h2.login("127.0.0.1", roleID, secret); !errors.Is(err, approle.ErrInvalidCredentials) {
		t.Fatalf("the use count did not survive the restart: %v", err)
	}
	secret2, _ := h2.secretID("app", nil)
	if _, err := h.login("127.0.0.1", roleID, secret2); err != nil {
		t.Fatalf("the first backend cannot read the second's secret id (salt not shared): %v", err)
	}
}
