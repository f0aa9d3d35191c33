package core_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
)

// ttlToken creates a token of the given ttl through auth/token/create.
func ttlToken(t *testing.T, c *core.Core, root, ttl string) (tok, accessor string) {
	t.Helper()
	resp := mustDo(t, c, root, logical.UpdateOperation, "auth/token/create", map[string]any{"ttl": ttl, "policies": []string{"root"}})
	return resp.Auth.ClientToken, resp.Auth.Accessor
}

// tokenLeases lists the token leases under auth/token/create/.
func tokenLeases(t *testing.T, c *core.Core, root string) []string {
	t.Helper()
	resp, err := do(t, c, root, logical.ListOperation, "sys/leases/lookup/auth/token/create/", nil)
	if errors.Is(err, logical.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := resp.Data["keys"].([]string)
	return keys
}

// A token's expiry revokes the leases it created at once, not at the
// next tidy, and the token's own lease is visible as Vault's.
func TestTokenExpiryRevokesItsLeases(t *testing.T) {
	c, root, db := dbCore(t, "1h")
	tok, _ := ttlToken(t, c, root, "3s")
	keys := tokenLeases(t, c, root)
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "h") {
		t.Fatalf("token leases = %v, want one h… lease", keys)
	}
	look := mustDo(t, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": "auth/token/create/" + keys[0]})
	if ttl := look.Data["ttl"].(int64); ttl < 1 || ttl > 3 {
		t.Fatalf("token lease ttl = %d, want <= 3", ttl)
	}
	user, pw, _ := creds(t, c, tok) // its own lease: 1h
	if !canLogIn(t, user, pw) {
		t.Fatal("the issued credentials do not log in")
	}
	eventually(t, "the expired token's database user is dropped", 20*time.Second, func() bool { return !userExists(t, db, user) })
	if canLogIn(t, user, pw) {
		t.Fatal("credentials of an expired token still log in")
	}
	if keys := tokenLeases(t, c, root); len(keys) != 0 {
		t.Fatalf("the expired token's lease is still listed: %v", keys)
	}
	if _, err := do(t, c, tok, logical.ReadOperation, "auth/token/lookup-self", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("expired token still works: %v", err)
	}
}

// Renewing a token moves its lease; revoking it drops the lease; the
// lease cannot be renewed through sys/leases, but revoking it revokes
// the token, as in Vault.
func TestTokenLeaseFollowsTheToken(t *testing.T) {
	c, root, _ := dbCore(t, "1h")
	tok, _ := ttlToken(t, c, root, "1m")
	id := "auth/token/create/" + tokenLeases(t, c, root)[0]
	mustDo(t, c, tok, logical.UpdateOperation, "auth/token/renew-self", map[string]any{"increment": "2h"})
	look := mustDo(t, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": id})
	if ttl := look.Data["ttl"].(int64); ttl < 7000 {
		t.Fatalf("after renewing the token for 2h its lease ttl = %d", ttl)
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/leases/renew", map[string]any{"lease_id": id}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("sys/leases/renew of a token lease: %v, want 400", err)
	}
	mustDo(t, c, root, logical.UpdateOperation, "sys/leases/revoke", map[string]any{"lease_id": id})
	if _, err := do(t, c, tok, logical.ReadOperation, "auth/token/lookup-self", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("token whose lease was revoked still works: %v", err)
	}

	tok2, _ := ttlToken(t, c, root, "1h")
	if n := len(tokenLeases(t, c, root)); n != 1 {
		t.Fatalf("token leases = %d, want 1", n)
	}
	mustDo(t, c, tok2, logical.UpdateOperation, "auth/token/revoke-self", nil)
	if keys := tokenLeases(t, c, root); len(keys) != 0 {
		t.Fatalf("a revoked token's lease is still listed: %v", keys)
	}
	resp := mustDo(t, c, root, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": []string{"root"}, "period": "1h"})
	if resp.Auth.ClientToken == "" || len(tokenLeases(t, c, root)) != 1 {
		t.Fatal("a periodic token has no lease")
	}
}

// A full global lease-count quota refuses a new token with a 429, and
// the refused token does not exist.
func TestTokenLeaseQuota(t *testing.T) {
	c, root, _ := dbCore(t, "1h")
	mustDo(t, c, root, logical.UpdateOperation, "sys/quotas/lease-count/tokens", map[string]any{"max_leases": 1, "path": "auth/token/"})
	ttlToken(t, c, root, "1h")
	_, err := do(t, c, root, logical.UpdateOperation, "auth/token/create", map[string]any{"ttl": "1h"})
	var coded *logical.CodedError
	if !errors.As(err, &coded) || coded.Status != http.StatusTooManyRequests || !strings.Contains(coded.Message, `"tokens"`) {
		t.Fatalf("token past the quota: %v, want 429 naming the quota", err)
	}
	if n := len(tokenLeases(t, c, root)); n != 1 {
		t.Fatalf("token leases = %d after a refused token, want 1", n)
	}
}
