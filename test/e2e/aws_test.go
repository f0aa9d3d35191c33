package e2e

import (
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"

	"github.com/secretumvault/secretumvault/internal/awstest"
)

// TestAWSEngineThroughTheOpenBaoClient: a real vaultd's AWS engine,
// pointed at the repository's IAM/STS fake (AWS cannot be reached from
// here; the fake checks every SigV4 signature), issues iam_user and STS
// credentials to the OpenBao client; revoking the iam_user lease deletes
// the user and its key; a rotation policy on aws/config/root replaces the
// root key on schedule and the old one stops signing.
func TestAWSEngineThroughTheOpenBaoClient(t *testing.T) {
	fake, err := awstest.New(awstest.Config{AccessKeyID: "AKIAROOTEXAMPLE00001", SecretAccessKey: "root-secret-key-0000000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	roleARN := fake.CreateRole("deploy", awstest.RoleOptions{})
	s := newServerWith(t, "rotation_check_interval = \"200ms\"\n")
	init := s.initUnseal(1, 1)
	c := s.client(init.RootToken)
	if err := c.Sys().Mount("aws", &vault.MountInput{Type: "aws"}); err != nil {
		t.Fatalf("mount aws: %v", err)
	}
	mustWrite := func(path string, data map[string]any) {
		t.Helper()
		if _, err := c.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	mustWrite("aws/config/root", map[string]any{"access_key": "AKIAROOTEXAMPLE00001", "secret_key": "root-secret-key-0000000000000000000000",
		"region": "us-east-1", "iam_endpoint": fake.URL, "sts_endpoint": fake.URL})
	cfg, err := c.Logical().Read("aws/config/root")
	if err != nil || cfg == nil || cfg.Data["secret_key"] != nil || strings.Contains(strings.Join(mapKeys(cfg.Data), ","), "secret_key") {
		t.Fatalf("config/root read shows the secret key or fails: %v %v", cfg, err)
	}
	mustWrite("aws/roles/app", map[string]any{"credential_type": "iam_user", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
	mustWrite("aws/roles/deploy", map[string]any{"credential_type": "assumed_role", "role_arns": roleARN})

	creds, err := c.Logical().Read("aws/creds/app")
	if err != nil || creds == nil || creds.LeaseID == "" {
		t.Fatalf("aws/creds/app: %v %v", creds, err)
	}
	key, _ := creds.Data["access_key"].(string)
	if !fake.KeyValid(key) || len(fake.Users()) != 2 {
		t.Fatalf("issued key %q valid=%v, users %v", key, fake.KeyValid(key), fake.Users())
	}
	sts, err := c.Logical().Write("aws/sts/deploy", map[string]any{"ttl": "15m"})
	if err != nil || sts == nil || sts.Data["security_token"] == nil || sts.Renewable {
		t.Fatalf("aws/sts/deploy: %v %v", sts, err)
	}
	if err := c.Sys().Revoke(creds.LeaseID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if fake.KeyValid(key) || len(fake.Users()) != 1 {
		t.Fatalf("after revoke: key valid=%v, users %v", fake.KeyValid(key), fake.Users())
	}

	mustWrite("sys/rotation/policies/aws-root", map[string]any{"match": "aws/config/root", "schedule": "*/2 * * * * *", "verify_interval": "1s"})
	waitFor(t, "the root key rotated by the policy", 20*time.Second, func() bool { return !fake.KeyValid("AKIAROOTEXAMPLE00001") })
	root := fake.AccessKeys("vault-root")
	if len(root) != 1 || root[0] == "AKIAROOTEXAMPLE00001" || !fake.KeyValid(root[0]) {
		t.Fatalf("root keys after rotation: %v", root)
	}
	if _, err := c.Logical().Read("aws/creds/app"); err != nil {
		t.Fatalf("creds after the root rotation: %v", err)
	}
}
