package aws_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/secretumvault/secretumvault/engines/aws"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestConfigRootReadHidesSecret(t *testing.T) {
	h := newHarness(t)
	_, err := h.do(logical.ReadOperation, "config/root", nil)
	wantErr(t, err, logical.ErrNotFound, "")
	h.configure()
	resp := h.must(logical.ReadOperation, "config/root", nil)
	want := map[string]any{"access_key": rootKey, "region": "us-east-1", "iam_endpoint": h.fake.URL, "sts_endpoint": h.fake.URL, "max_retries": 0}
	if len(resp.Data) != len(want) {
		t.Fatalf("config/root = %v, want %v", resp.Data, want)
	}
	for k, v := range want {
		if resp.Data[k] != v {
			t.Fatalf("config/root %s = %v, want %v", k, resp.Data[k], v)
		}
	}
	for _, v := range resp.Data {
		if v == rootSecret {
			t.Fatal("config/root read shows the secret key")
		}
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	h.configure()
	root := func(kv ...any) map[string]any {
		m := map[string]any{"access_key": rootKey, "secret_key": rootSecret}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name, path string
		data       map[string]any
		field      string
	}{
		{"root without access_key", "config/root", map[string]any{"secret_key": "x"}, "access_key"},
		{"root without secret_key", "config/root", map[string]any{"access_key": "x"}, "secret_key"},
		{"root max_retries", "config/root", root("max_retries", -5), "max_retries"},
		{"root max_retries not a number", "config/root", root("max_retries", "many"), "max_retries"},
		{"root iam_endpoint", "config/root", root("iam_endpoint", "ftp://iam"), "iam_endpoint"},
		{"root sts_endpoint", "config/root", root("sts_endpoint", "not a url"), "sts_endpoint"},
		{"lease missing", "config/lease", map[string]any{"lease_max": "1h"}, "lease"},
		{"lease_max missing", "config/lease", map[string]any{"lease": "1h"}, "lease_max"},
		{"lease not a duration", "config/lease", map[string]any{"lease": "soon", "lease_max": "1h"}, "lease"},
		{"role without type", "roles/r", map[string]any{"policy_document": "{}"}, "credential_type"},
		{"role unknown type", "roles/r", map[string]any{"credential_type": "root"}, "credential_type"},
		{"role bad policy", "roles/r", map[string]any{"credential_type": "iam_user", "policy_document": "{nope"}, "policy_document"},
		{"role sts ttl on iam_user", "roles/r", map[string]any{"credential_type": "iam_user", "default_sts_ttl": "1h"}, "default_sts_ttl"},
		{"role max_sts_ttl on iam_user", "roles/r", map[string]any{"credential_type": "iam_user", "max_sts_ttl": "1h"}, "max_sts_ttl"},
		{"role default above max", "roles/r", map[string]any{"credential_type": "assumed_role", "default_sts_ttl": "2h", "max_sts_ttl": "1h"}, "default_sts_ttl"},
		{"role ttl not a duration", "roles/r", map[string]any{"credential_type": "assumed_role", "max_sts_ttl": "long"}, "max_sts_ttl"},
		{"role user_path syntax", "roles/r", map[string]any{"credential_type": "iam_user", "user_path": "vault"}, "user_path"},
		{"role user_path on sts", "roles/r", map[string]any{"credential_type": "federation_token", "user_path": "/v/"}, "user_path"},
		{"role boundary on sts", "roles/r", map[string]any{"credential_type": "assumed_role", "permissions_boundary_arn": "arn:aws:iam::aws:policy/X"}, "permissions_boundary_arn"},
		{"role boundary not a policy", "roles/r", map[string]any{"credential_type": "iam_user", "permissions_boundary_arn": "arn:aws:iam::aws:role/X"}, "permissions_boundary_arn"},
		{"role role_arns on iam_user", "roles/r", map[string]any{"credential_type": "iam_user", "role_arns": "arn:aws:iam::123456789012:role/x"}, "role_arns"},
		{"role session_tags on iam_user", "roles/r", map[string]any{"credential_type": "iam_user", "session_tags": map[string]any{"a": "b"}}, "session_tags"},
		{"role session_tags not pairs", "roles/r", map[string]any{"credential_type": "assumed_role", "session_tags": []any{1}}, "session_tags"},
		{"role external_id on federation", "roles/r", map[string]any{"credential_type": "federation_token", "external_id": "x"}, "external_id"},
		{"creds of no role", "creds/nope", nil, "name"},
		{"creds negative ttl", "sts/nope", map[string]any{"ttl": -5}, "ttl"},
		{"creds ttl not a duration", "sts/nope", map[string]any{"ttl": "forever"}, "ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.do(logical.UpdateOperation, tt.path, tt.data)
			wantField(t, err, tt.field)
		})
	}
	// Nothing was written by a refused request.
	if _, err := h.do(logical.ReadOperation, "roles/r", nil); err == nil {
		t.Fatal("a refused role write was stored")
	}
	if resp := h.must(logical.ReadOperation, "config/root", nil); resp.Data["access_key"] != rootKey || resp.Data["max_retries"] != 0 {
		t.Fatalf("a refused config/root write changed it: %v", resp.Data)
	}
}

func TestRoleReadListDelete(t *testing.T) {
	h := newHarness(t)
	_, err := h.do(logical.ListOperation, "roles/", nil)
	wantErr(t, err, logical.ErrNotFound, "")
	h.must(logical.UpdateOperation, "roles/a", map[string]any{"credential_type": "assumed_role", "role_arns": "arn:aws:iam::123456789012:role/x", "max_sts_ttl": "1h"})
	h.must(logical.UpdateOperation, "roles/a", map[string]any{"default_sts_ttl": 600}) // an update keeps the rest
	h.must(logical.UpdateOperation, "roles/b", map[string]any{"credential_type": "iam_user"})
	resp := h.must(logical.ReadOperation, "roles/a", nil)
	d := resp.Data
	if d["credential_type"] != "assumed_role" || !slices.Equal(d["role_arns"].([]string), []string{"arn:aws:iam::123456789012:role/x"}) ||
		d["default_sts_ttl"] != int64(600) || d["max_sts_ttl"] != int64(3600) || d["user_path"] != "" {
		t.Fatalf("roles/a = %v", d)
	}
	list := h.must(logical.ListOperation, "roles/", nil)
	if keys := list.Data["keys"].([]string); !slices.Equal(keys, []string{"a", "b"}) {
		t.Fatalf("keys = %v", keys)
	}
	exists, ok, err := h.b.ExistenceCheck(h.ctx(), &logical.Request{
		Operation: logical.UpdateOperation, Path: "roles/a", Storage: h.store,
		Data: map[string]any{"session_tags": []any{"k=v"}},
	})
	if !exists || !ok || err != nil {
		t.Fatalf("existence of roles/a = %v %v %v", exists, ok, err)
	}
	h.must(logical.DeleteOperation, "roles/a", nil)
	_, err = h.do(logical.ReadOperation, "roles/a", nil)
	wantErr(t, err, logical.ErrNotFound, "")
}

func TestConfigLease(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "config/lease", map[string]any{"lease": "1h", "lease_max": 7200})
	resp := h.must(logical.ReadOperation, "config/lease", nil)
	if resp.Data["lease"] != "1h0m0s" || resp.Data["lease_max"] != "2h0m0s" {
		t.Fatalf("config/lease = %v", resp.Data)
	}
}

func TestNotConfigured(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"credential_type": "iam_user"})
	_, err := h.do(logical.ReadOperation, "creds/r", nil)
	wantErr(t, err, logical.ErrInvalidRequest, "config/root")
	_, err = h.do(logical.UpdateOperation, "config/rotate-root", nil)
	wantErr(t, err, logical.ErrInvalidRequest, "config/root")
	targets, err := h.b.RotationTargets(h.ctx(), h.store)
	if err != nil || len(targets) != 0 {
		t.Fatalf("targets = %v, %v; want none", targets, err)
	}
}

func TestRouteInfo(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		path   string
		op     logical.Operation
		action string
		sudo   bool
	}{
		{"creds/r", logical.ReadOperation, "generate", false},
		{"creds/r", logical.UpdateOperation, "generate", false},
		{"sts/r", logical.ReadOperation, "generate", false},
		{"config/rotate-root", logical.UpdateOperation, "rotate", true},
		{"config/root", logical.UpdateOperation, "", true},
		{"config/root", logical.ReadOperation, "", false},
		{"config/lease", logical.UpdateOperation, "", true},
		{"roles/r", logical.UpdateOperation, "", false},
	}
	for _, tt := range tests {
		info, ok := h.b.RouteInfo(tt.path, tt.op)
		if !ok || info.Action != tt.action || info.Sudo != tt.sudo {
			t.Errorf("RouteInfo(%s, %s) = %+v, %v; want action %q sudo %v", tt.path, tt.op, info, ok, tt.action, tt.sudo)
		}
	}
	if _, ok := h.b.RouteInfo("nope/x", logical.ReadOperation); ok {
		t.Error("RouteInfo of an unknown path is ok")
	}
}

func TestRotateRoot(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.must(logical.UpdateOperation, "roles/deploy", map[string]any{"credential_type": "iam_user", "policy_document": `{}`})
	before := h.creds(logical.ReadOperation, "creds/deploy", nil) // a cached client exists
	targets, err := h.b.RotationTargets(h.ctx(), h.store)
	if err != nil || len(targets) != 1 || targets[0].Path != "config/root" || !targets[0].Verifiable || targets[0].LastRotated.IsZero() || len(targets[0].Guards) != 0 {
		t.Fatalf("targets = %+v, %v", targets, err)
	}
	first := targets[0].LastRotated

	resp := h.must(logical.UpdateOperation, "config/rotate-root", nil)
	newKey, _ := resp.Data["access_key"].(string)
	if len(resp.Data) != 1 || newKey == "" || newKey == rootKey {
		t.Fatalf("rotate-root = %v", resp.Data)
	}
	if keys := h.fake.AccessKeys(rootUser); !slices.Equal(keys, []string{newKey}) {
		t.Fatalf("root user's keys = %v, want only %s", keys, newKey)
	}
	if _, code := h.callerArn(rootKey, rootSecret, ""); code != "InvalidClientTokenId" {
		t.Fatalf("the old root key still signs (code %q)", code)
	}
	h.secrets = append(h.secrets, h.storedSecret())
	if got := h.must(logical.ReadOperation, "config/root", nil).Data["access_key"]; got != newKey {
		t.Fatalf("config/root access_key = %v, want %s", got, newKey)
	}
	if err := h.b.Verify(h.ctx(), h.store, "config/root"); err != nil {
		t.Fatalf("Verify after rotation: %v", err)
	}
	// The engine keeps working with the new key: issue and revoke.
	after := h.creds(logical.ReadOperation, "creds/deploy", nil)
	for _, c := range []issued{before, after} {
		if _, err := h.secretOp(logical.RevokeOperation, c.lease, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Rotator.Rotate does the same, and ages the key from now.
	res, err := h.b.Rotate(h.ctx(), h.store, "config/root")
	if err != nil || res.Version == "" || res.Version == newKey {
		t.Fatalf("Rotate = %+v, %v", res, err)
	}
	targets, _ = h.b.RotationTargets(h.ctx(), h.store)
	if !targets[0].LastRotated.After(first) || !targets[0].LastRotated.Equal(res.RotatedAt) {
		t.Fatalf("LastRotated %v after rotation at %v (first %v)", targets[0].LastRotated, res.RotatedAt, first)
	}
	h.secrets = append(h.secrets, h.storedSecret())
	if h.fake.KeyValid(newKey) || !h.fake.KeyValid(res.Version) {
		t.Fatal("Rotate did not replace the key")
	}
	if _, err := h.b.Rotate(h.ctx(), h.store, "roles/deploy"); err == nil {
		t.Fatal("Rotate of a non-target succeeded")
	}
	// A restarted mount (a new node) reads the rotated key from storage.
	h.b = h.mount()
	if err := h.b.Verify(h.ctx(), h.store, "config/root"); err != nil {
		t.Fatalf("Verify on a new instance: %v", err)
	}
}

func TestRotateRootWhileIssuing(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.must(logical.UpdateOperation, "roles/fed", map[string]any{"credential_type": "federation_token", "policy_document": `{}`})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 8 {
		wg.Go(func() {
			_, err := h.do(logical.ReadOperation, "sts/fed", nil)
			errs <- err
		})
	}
	wg.Go(func() {
		_, err := h.do(logical.UpdateOperation, "config/rotate-root", nil)
		errs <- err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a request failed during rotation: %v", err)
		}
	}
}

func TestVerifyDrift(t *testing.T) {
	h := newHarness(t)
	h.configure()
	if err := h.b.Verify(h.ctx(), h.store, "config/root"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Someone deletes the root key in the console.
	if !h.fake.DeleteAccessKey(rootKey) {
		t.Fatal("no root key in the fake")
	}
	err := h.b.Verify(h.ctx(), h.store, "config/root")
	wantErr(t, err, logical.ErrDrift, "InvalidClientTokenId")
	if err := h.b.Verify(h.ctx(), h.store, "config/lease"); err == nil {
		t.Fatal("Verify of a non-target succeeded")
	}

	// A wrong secret for an existing key is drift too.
	h2 := newHarness(t)
	h2.must(logical.UpdateOperation, "config/root", map[string]any{
		"access_key": rootKey, "secret_key": "not-the-secret", "sts_endpoint": h2.fake.URL, "iam_endpoint": h2.fake.URL, "max_retries": 0,
	})
	wantErr(t, h2.b.Verify(h2.ctx(), h2.store, "config/root"), logical.ErrDrift, "SignatureDoesNotMatch")
}

func TestConfigRootWriteKeepsAgeOfSameKey(t *testing.T) {
	h := newHarness(t)
	h.configure()
	t1, _ := h.b.RotationTargets(h.ctx(), h.store)
	h.advance(time.Hour)
	h.configure()
	t2, _ := h.b.RotationTargets(h.ctx(), h.store)
	if !t2[0].LastRotated.Equal(t1[0].LastRotated) {
		t.Fatalf("rewriting the same key reset its age: %v -> %v", t1[0].LastRotated, t2[0].LastRotated)
	}
	h.must(logical.UpdateOperation, "config/root", map[string]any{"access_key": "AKIAOTHER", "secret_key": "other"})
	t3, _ := h.b.RotationTargets(h.ctx(), h.store)
	if !t3[0].LastRotated.After(t1[0].LastRotated.Add(59 * time.Minute)) {
		t.Fatalf("a new key kept the old one's age: %v -> %v", t1[0].LastRotated, t3[0].LastRotated)
	}
}

func TestFactory(t *testing.T) {
	b, err := aws.Factory()(t.Context(), &logical.BackendConfig{MountPoint: "aws/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(logical.Rotator); !ok || aws.Type != "aws" {
		t.Fatal("the aws backend is no Rotator")
	}
}

func TestRotateRootRefusedChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.configure()
	// The root user already has IAM's two keys: CreateAccessKey fails.
	c := iam.New(iam.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(rootKey, rootSecret, ""),
		BaseEndpoint: awssdk.String(h.fake.URL), RetryMaxAttempts: 1,
	})
	if _, err := c.CreateAccessKey(h.ctx(), &iam.CreateAccessKeyInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := h.do(logical.UpdateOperation, "config/rotate-root", nil)
	wantErr(t, err, logical.ErrInvalidRequest, "LimitExceeded")
	if got := h.must(logical.ReadOperation, "config/root", nil).Data["access_key"]; got != rootKey {
		t.Fatalf("a failed rotation changed config/root: access_key %v", got)
	}
	if err := h.b.Verify(h.ctx(), h.store, "config/root"); err != nil {
		t.Fatalf("the root key stopped working after a failed rotation: %v", err)
	}
}

// storedSecret is the root secret key in storage (which no log may hold).
func (h *harness) storedSecret() string {
	h.t.Helper()
	e, err := h.store.Get(h.ctx(), "config/root")
	if err != nil || e == nil {
		h.t.Fatalf("config/root in storage: %v", err)
	}
	var cfg struct {
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(e.Value, &cfg); err != nil || cfg.SecretKey == "" {
		h.t.Fatalf("config/root in storage: %v", err)
	}
	return cfg.SecretKey
}

func TestGrantTTL(t *testing.T) {
	h := newHarness(t)
	h.must(logical.UpdateOperation, "roles/user", map[string]any{"credential_type": "iam_user"})
	h.must(logical.UpdateOperation, "roles/fed", map[string]any{"credential_type": "federation_token", "default_sts_ttl": "20m"})
	h.must(logical.UpdateOperation, "roles/assumed", map[string]any{"credential_type": "assumed_role", "max_sts_ttl": "30m"})
	grant := func(op logical.Operation, path string) (time.Duration, bool) {
		t.Helper()
		ttl, ok, err := h.b.GrantTTL(h.ctx(), &logical.Request{Operation: op, Path: path, Storage: h.store})
		if err != nil {
			t.Fatal(err)
		}
		return ttl, ok
	}
	tests := []struct {
		op   logical.Operation
		path string
		ttl  time.Duration
		ok   bool
	}{
		{logical.ReadOperation, "creds/user", time.Hour, true}, // the mount's default
		{logical.ReadOperation, "sts/fed", 20 * time.Minute, true},
		{logical.UpdateOperation, "creds/assumed", 30 * time.Minute, true},
		{logical.ReadOperation, "creds/nope", 0, false},
		{logical.ReadOperation, "roles/user", 0, false},
		{logical.DeleteOperation, "creds/user", 0, false},
	}
	for _, tt := range tests {
		if ttl, ok := grant(tt.op, tt.path); ttl != tt.ttl || ok != tt.ok {
			t.Errorf("GrantTTL(%s %s) = %v, %v; want %v, %v", tt.op, tt.path, ttl, ok, tt.ttl, tt.ok)
		}
	}
	h.must(logical.UpdateOperation, "config/lease", map[string]any{"lease": "10m", "lease_max": "1h"})
	if ttl, ok := grant(logical.ReadOperation, "creds/user"); ttl != 10*time.Minute || !ok {
		t.Errorf("GrantTTL(creds/user) = %v, %v with config/lease", ttl, ok)
	}
}
