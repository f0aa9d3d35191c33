package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/secretumvault/secretumvault/server/api"
)

// TestVaultClient drives the server with HashiCorp's own Go client: the
// API is compatible when an unmodified Vault client works against it.
func TestVaultClient(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t, api.Options{})
	cfg := vault.DefaultConfig()
	cfg.Address = ts.url
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sys := client.Sys()

	if ok, err := sys.InitStatusWithContext(ctx); err != nil || ok {
		t.Fatalf("InitStatus = %v, %v", ok, err)
	}
	init, err := sys.InitWithContext(ctx, &vault.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(init.Keys) != 3 || len(init.KeysB64) != 3 || init.RootToken == "" {
		t.Fatalf("init = %+v", init)
	}
	if _, err := client.Logical().ReadWithContext(ctx, "secret/data/x"); statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("read while sealed: %v", err)
	}
	st, err := sys.UnsealWithContext(ctx, init.Keys[0])
	if err != nil || !st.Sealed || st.Progress != 1 || st.T != 2 || st.N != 3 {
		t.Fatalf("unseal 1 = %+v, %v", st, err)
	}
	if st, err = sys.UnsealWithContext(ctx, init.KeysB64[1]); err != nil || st.Sealed {
		t.Fatalf("unseal 2 = %+v, %v", st, err)
	}
	health, err := sys.HealthWithContext(ctx)
	if err != nil || !health.Initialized || health.Sealed || health.ServerTimeUTC == 0 {
		t.Fatalf("health = %+v, %v", health, err)
	}
	leader, err := sys.LeaderWithContext(ctx)
	if err != nil || !leader.IsSelf {
		t.Fatalf("leader = %+v, %v", leader, err)
	}

	client.SetToken(init.RootToken)
	if err := sys.MountWithContext(ctx, "secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	mounts, err := sys.ListMountsWithContext(ctx)
	if err != nil || mounts["secret/"] == nil || mounts["secret/"].Options["version"] != "2" {
		t.Fatalf("mounts = %v, %v", mounts, err)
	}
	if err := sys.TuneMountAllowNilWithContext(ctx, "secret", vault.TuneMountConfigInput{Description: ptr("app secrets")}); err != nil {
		t.Fatal(err)
	}

	// The effective TTLs of an untuned mount are the system's 768h.
	cfg768, err := sys.MountConfigWithContext(ctx, "secret")
	if err != nil || cfg768.DefaultLeaseTTL != 2764800 || cfg768.MaxLeaseTTL != 2764800 {
		t.Fatalf("mount config = %+v, %v", cfg768, err)
	}
	// The auth mount table, in Vault's shapes.
	auths, err := sys.ListAuthWithContext(ctx)
	if err != nil || auths["token/"] == nil || auths["token/"].Type != "token" || len(auths) != 1 {
		t.Fatalf("auth mounts = %v, %v", auths, err)
	}
	if err := sys.EnableAuthWithOptionsWithContext(ctx, "pass", &vault.EnableAuthOptions{Type: "no-such-method"}); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("enable an unknown auth method: %v, want 400", err)
	}
	if tok, err := client.Logical().ReadWithContext(ctx, "sys/auth/token/tune"); err != nil || tok.Data["max_lease_ttl"] != json.Number("2764800") {
		t.Fatalf("auth/token tune = %+v, %v", tok, err)
	}
	if err := sys.DisableAuthWithContext(ctx, "token"); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("disable the token auth method: %v, want 400", err)
	}

	kv := client.KVv2("secret")
	if _, err := kv.Put(ctx, "app", map[string]any{"user": "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "app", map[string]any{"user": "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Patch(ctx, "app", map[string]any{"role": "admin"}); err != nil {
		t.Fatal(err)
	}
	got, err := kv.Get(ctx, "app")
	if err != nil || got.Data["user"] != "bob" || got.Data["role"] != "admin" || got.VersionMetadata.Version != 3 {
		t.Fatalf("kv get = %+v, %v", got, err)
	}
	v1, err := kv.GetVersion(ctx, "app", 1)
	if err != nil || v1.Data["user"] != "alice" {
		t.Fatalf("kv get v1 = %+v, %v", v1, err)
	}
	list, err := client.Logical().ListWithContext(ctx, "secret/metadata")
	if err != nil || list == nil || len(list.Data["keys"].([]any)) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if empty, err := client.Logical().ListWithContext(ctx, "secret/metadata/none"); err != nil || empty != nil {
		t.Fatalf("empty list = %+v, %v (want nil, nil)", empty, err)
	}
	if missing, err := client.Logical().ReadWithContext(ctx, "secret/data/missing"); err != nil || missing != nil {
		t.Fatalf("missing = %+v, %v (want nil, nil)", missing, err)
	}
	if err := kv.Delete(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	self, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil || self == nil {
		t.Fatalf("lookup-self = %+v, %v", self, err)
	}

	denied := client.WithNamespace("")
	denied.SetToken("s.invalid")
	if _, err := denied.Logical().ReadWithContext(ctx, "secret/data/app"); statusOf(err) != http.StatusForbidden {
		t.Fatalf("bad token read: %v", err)
	}
	if err := sys.SealWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := sys.SealStatusWithContext(ctx); err != nil || !st.Sealed {
		t.Fatalf("after seal = %+v, %v", st, err)
	}
}

func statusOf(err error) int {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func ptr[T any](v T) *T { return &v }
