package aws_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/aws"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/internal/awstest"
)

// usernameRe is Vault's default IAM username shape.
var usernameRe = regexp.MustCompile(`^vault-token-deploy-\d{10}-[A-Za-z0-9]{20}$`)

func TestIAMUserCredsAndRevoke(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.fake.CreateGroup("devs", nil)
	h.must(logical.UpdateOperation, "config/lease", map[string]any{"lease": "30m", "lease_max": "2h"})
	h.must(logical.UpdateOperation, "roles/deploy", map[string]any{
		"credential_type":          "iam_user",
		"policy_arns":              "arn:aws:iam::aws:policy/ReadOnlyAccess",
		"policy_document":          `{"Version": "2012-10-17", "Statement": []}`,
		"iam_groups":               []any{"devs"},
		"iam_tags":                 map[string]any{"team": "infra"},
		"permissions_boundary_arn": "arn:aws:iam::123456789012:policy/boundary",
		"user_path":                "/vault/",
	})
	c := h.creds(logical.ReadOperation, "creds/deploy", nil)
	if c.token != "" {
		t.Fatalf("security_token = %q, want null for iam_user", c.token)
	}
	sec := c.lease
	if sec.Type != aws.SecretAccessKeysType || !sec.Renewable || sec.TTL != 30*time.Minute || sec.MaxTTL != 2*time.Hour {
		t.Fatalf("lease = %+v", sec)
	}
	username := sec.InternalData["username"].(string)
	if !usernameRe.MatchString(username) || len(username) > 64 {
		t.Fatalf("username %q is not Vault's template", username)
	}
	u, ok := h.fake.User(username)
	want := awstest.UserInfo{
		Name: username, Path: "/vault/", Arn: "arn:aws:iam::123456789012:user/vault/" + username,
		PermissionsBoundary: "arn:aws:iam::123456789012:policy/boundary",
		Tags:                map[string]string{"team": "infra"},
		InlinePolicies:      map[string]string{"deploy": `{"Version":"2012-10-17","Statement":[]}`},
		AttachedPolicies:    []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, Groups: []string{"devs"},
		AccessKeys: []string{c.accessKey},
	}
	if !ok || !equalUser(u, want) {
		t.Fatalf("IAM user = %+v\nwant %+v", u, want)
	}
	if arn, code := h.callerArn(c.accessKey, c.secretKey, ""); arn != want.Arn || c.arn != want.Arn {
		t.Fatalf("the issued key signs as %q (%s), response arn %q; want %q", arn, code, c.arn, want.Arn)
	}

	for i := range 2 { // revoking twice is fine
		if _, err := h.secretOp(logical.RevokeOperation, sec, nil); err != nil {
			t.Fatalf("revoke %d: %v", i+1, err)
		}
	}
	if h.fake.UserExists(username) {
		t.Fatal("the IAM user survived its revocation")
	}
	if _, code := h.callerArn(c.accessKey, c.secretKey, ""); code != "InvalidClientTokenId" {
		t.Fatalf("a revoked key signs: code %q, want InvalidClientTokenId", code)
	}
	if got := h.fake.Users(); !slices.Equal(got, []string{rootUser}) {
		t.Fatalf("users left = %v", got)
	}
}

func equalUser(a, b awstest.UserInfo) bool {
	return a.Name == b.Name && a.Path == b.Path && a.Arn == b.Arn && a.PermissionsBoundary == b.PermissionsBoundary &&
		equalMap(a.Tags, b.Tags) && equalMap(a.InlinePolicies, b.InlinePolicies) &&
		slices.Equal(a.AttachedPolicies, b.AttachedPolicies) && slices.Equal(a.Groups, b.Groups) &&
		slices.Equal(a.AccessKeys, b.AccessKeys)
}

func equalMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRevokeUserPartlyGone(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.must(logical.UpdateOperation, "roles/deploy", map[string]any{"credential_type": "iam_user", "policy_document": `{}`})
	c := h.creds(logical.UpdateOperation, "creds/deploy", nil)
	// An operator deleted the key by hand: revocation removes the rest.
	if !h.fake.DeleteAccessKey(c.accessKey) {
		t.Fatal("no such key in the fake")
	}
	if _, err := h.secretOp(logical.RevokeOperation, c.lease, nil); err != nil {
		t.Fatal(err)
	}
	if name := c.lease.InternalData["username"].(string); h.fake.UserExists(name) {
		t.Fatal("user survived")
	}
}

func TestFailedCreationLeavesNoUser(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.must(logical.UpdateOperation, "roles/deploy", map[string]any{"credential_type": "iam_user", "iam_groups": "no-such-group"})
	_, err := h.do(logical.ReadOperation, "creds/deploy", nil)
	wantErr(t, err, logical.ErrInvalidRequest, "NoSuchEntity")
	if got := h.fake.Users(); !slices.Equal(got, []string{rootUser}) {
		t.Fatalf("users left after a failed creation = %v", got)
	}
	if keys, err := h.store.List(h.ctx(), "wal/user/"); err != nil || len(keys) != 0 {
		t.Fatalf("pending-user records left after a cleaned-up failure: %v %v", keys, err)
	}
}

func TestRenew(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.must(logical.UpdateOperation, "config/lease", map[string]any{"lease": 600, "lease_max": "1h"})
	h.must(logical.UpdateOperation, "roles/deploy", map[string]any{"credential_type": "iam_user", "policy_document": `{}`})
	c := h.creds(logical.ReadOperation, "creds/deploy", nil)
	tests := []struct {
		name      string
		issued    time.Duration // ago
		increment any
		want      time.Duration
		wantErr   bool
	}{
		{"default increment", 0, nil, 10 * time.Minute, false},
		{"asked increment", 0, "20m", 20 * time.Minute, false},
		{"capped by lease_max", 50 * time.Minute, "30m", 10 * time.Minute, false},
		{"past lease_max", 2 * time.Hour, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := *c.lease
			sec.IssueTime = time.Now().Add(-tt.issued)
			resp, err := h.secretOp(logical.RenewOperation, &sec, map[string]any{"increment": tt.increment})
			if tt.wantErr {
				wantErr(t, err, logical.ErrInvalidRequest, "max TTL")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Secret.TTL; got < tt.want-2*time.Second || got > tt.want {
				t.Fatalf("TTL = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAssumedRoleCreds(t *testing.T) {
	h := newHarness(t)
	h.configure()
	arn := h.fake.CreateRole("deployer", awstest.RoleOptions{ExternalID: "ext-1", MaxSessionDuration: 2 * time.Hour})
	other := h.fake.CreateRole("other", awstest.RoleOptions{})
	h.must(logical.UpdateOperation, "roles/deploy", map[string]any{
		"credential_type": "assumed_role", "role_arns": []any{arn, other},
		"policy_document": `{"Statement": []}`, "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess",
		"session_tags": "env=prod,team=infra", "external_id": "ext-1", "default_sts_ttl": "30m", "max_sts_ttl": "1h30m",
	})
	_, err := h.do(logical.ReadOperation, "sts/deploy", nil)
	wantField(t, err, "role_arn") // two role ARNs: the request must name one
	_, err = h.do(logical.ReadOperation, "sts/deploy", map[string]any{"role_arn": "arn:aws:iam::123456789012:role/nope"})
	wantField(t, err, "role_arn")

	tests := []struct {
		name, path string
		op         logical.Operation
		data       map[string]any
		session    string
		ttl        time.Duration
	}{
		{"default ttl", "sts/deploy", logical.ReadOperation, map[string]any{"role_arn": arn}, "", 30 * time.Minute},
		{"asked ttl and session name", "creds/deploy", logical.UpdateOperation, map[string]any{"role_arn": arn, "ttl": "1h", "role_session_name": "my session"}, "my_session", time.Hour},
		{"ttl capped by max_sts_ttl", "sts/deploy", logical.UpdateOperation, map[string]any{"role_arn": arn, "ttl": 7200}, "", 90 * time.Minute},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.creds(tt.op, tt.path, tt.data)
			calls := h.fake.STSCalls()
			if len(calls) != i+1 {
				t.Fatalf("%d STS calls, want %d", len(calls), i+1)
			}
			call := calls[i]
			if call.Action != "AssumeRole" || call.RoleArn != arn || call.ExternalID != "ext-1" || call.Duration != tt.ttl ||
				call.Policy != `{"Statement":[]}` || !slices.Equal(call.PolicyArns, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) ||
				!equalMap(call.Tags, map[string]string{"env": "prod", "team": "infra"}) {
				t.Fatalf("AssumeRole call = %+v", call)
			}
			if tt.session != "" && call.SessionName != tt.session {
				t.Fatalf("session name = %q, want %q", call.SessionName, tt.session)
			}
			if tt.session == "" && !usernameRe.MatchString(call.SessionName) {
				t.Fatalf("session name = %q, want Vault's template", call.SessionName)
			}
			if c.lease.Renewable || c.lease.TTL > tt.ttl || c.lease.TTL < tt.ttl-5*time.Second {
				t.Fatalf("lease = %+v, want non-renewable for %v", c.lease, tt.ttl)
			}
			wantArn := "arn:aws:sts::123456789012:assumed-role/deployer/" + call.SessionName
			if got, code := h.callerArn(c.accessKey, c.secretKey, c.token); got != wantArn || c.arn != wantArn {
				t.Fatalf("the issued key signs as %q (%s), response arn %q; want %q", got, code, c.arn, wantArn)
			}
			// Revoking STS credentials is a no-op, as in Vault.
			if _, err := h.secretOp(logical.RevokeOperation, c.lease, nil); err != nil {
				t.Fatal(err)
			}
			_, err := h.secretOp(logical.RenewOperation, c.lease, nil)
			wantErr(t, err, logical.ErrInvalidRequest, "cannot be renewed")
		})
	}
}

func TestFederationTokenCreds(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.must(logical.UpdateOperation, "roles/fed", map[string]any{"credential_type": "federation_token", "policy_document": `{"Statement": []}`})
	resp := h.must(logical.ReadOperation, "sts/fed", map[string]any{"ttl": "900"})
	c := h.creds(logical.ReadOperation, "creds/fed", nil)
	if ttl := resp.Data["ttl"].(uint64); ttl > 900 || ttl < 895 {
		t.Fatalf("ttl = %d, want 900", ttl)
	}
	calls := h.fake.STSCalls()
	if len(calls) != 2 || calls[1].Action != "GetFederationToken" || calls[1].Duration != time.Hour || calls[1].Policy != `{"Statement":[]}` {
		t.Fatalf("STS calls = %+v", calls)
	}
	if name := calls[1].SessionName; len(name) != 32 || !strings.HasPrefix(name, "vault-") {
		t.Fatalf("federated name %q is not Vault's template", name)
	}
	if got, code := h.callerArn(c.accessKey, c.secretKey, c.token); got != c.arn || !strings.Contains(got, ":federated-user/vault-") {
		t.Fatalf("the issued key signs as %q (%s), response arn %q", got, code, c.arn)
	}
	if _, code := h.callerArn(c.accessKey, c.secretKey, ""); code != "InvalidClientTokenId" {
		t.Fatalf("without its session token: code %q, want InvalidClientTokenId", code)
	}
	h.must(logical.UpdateOperation, "roles/bare", map[string]any{"credential_type": "federation_token"})
	_, err := h.do(logical.ReadOperation, "sts/bare", nil)
	wantField(t, err, "policy_document")
}

func TestSTSWithGroupPolicies(t *testing.T) {
	h := newHarness(t)
	h.configure()
	h.fake.CreateGroup("readers", map[string]string{
		"read": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`,
	}, "arn:aws:iam::aws:policy/ReadOnlyAccess")
	arn := h.fake.CreateRole("deployer", awstest.RoleOptions{})
	h.must(logical.UpdateOperation, "roles/fed", map[string]any{"credential_type": "federation_token", "iam_groups": "readers"})
	h.must(logical.UpdateOperation, "roles/assumed", map[string]any{
		"credential_type": "assumed_role", "role_arns": arn, "iam_groups": "readers",
		"policy_document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}`,
	})
	h.creds(logical.ReadOperation, "sts/fed", nil)
	h.creds(logical.ReadOperation, "sts/assumed", nil)
	calls := h.fake.STSCalls()
	want := []string{
		`{"Version":"2012-10-17","Statement":[{"Action":"s3:Get*","Effect":"Allow","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Action":"s3:Get*","Effect":"Allow","Resource":"*"},{"Action":"ec2:Describe*","Effect":"Allow","Resource":"*"}]}`,
	}
	for i, c := range calls {
		if c.Policy != want[i] || !slices.Equal(c.PolicyArns, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) {
			t.Errorf("%s: policy %s, arns %v; want %s", c.Action, c.Policy, c.PolicyArns, want[i])
		}
	}
	h.must(logical.UpdateOperation, "roles/nogroup", map[string]any{"credential_type": "federation_token", "iam_groups": "nope"})
	_, err := h.do(logical.ReadOperation, "sts/nogroup", nil)
	wantErr(t, err, logical.ErrInvalidRequest, "NoSuchEntity")
}
