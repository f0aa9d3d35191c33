package aws

import (
	"context"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/internal/awstest"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestOneClientPerConfig checks the cached clients are reused while
// config/root is unchanged, rebuilt when it changes, dropped by Cleanup.
func TestOneClientPerConfig(t *testing.T) {
	fake, err := awstest.New(awstest.Config{AccessKeyID: "AKIAINTERNAL00000001", SecretAccessKey: "internal-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	ctx := t.Context()
	s := storage.NewView(inmem.New(), "logical/aws/")
	b, err := New(ctx, &logical.BackendConfig{MountPoint: "aws/"})
	if err != nil {
		t.Fatal(err)
	}
	do := func(op logical.Operation, path string, data map[string]any) {
		t.Helper()
		if _, err := b.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, Storage: s}); err != nil {
			t.Fatalf("%s %s: %v", op, path, err)
		}
	}
	cur := func() *clients {
		c, err := b.clientsFor(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	do(logical.UpdateOperation, "config/root", map[string]any{
		"access_key": "AKIAINTERNAL00000001", "secret_key": "internal-secret", "iam_endpoint": fake.URL, "sts_endpoint": fake.URL,
	})
	first := cur()
	if cur() != first {
		t.Fatal("clients rebuilt with the config unchanged")
	}
	if err := b.Verify(ctx, s, rootConfigKey); err != nil || cur() != first {
		t.Fatalf("Verify: %v (or it rebuilt the clients)", err)
	}
	do(logical.UpdateOperation, "config/rotate-root", nil)
	rotated := cur()
	if rotated == first || rotated.cfg.AccessKey == first.cfg.AccessKey {
		t.Fatal("clients not rebuilt after rotate-root")
	}
	b.Cleanup(context.Background())
	if b.cached != nil {
		t.Fatal("Cleanup kept the clients")
	}
	if cur() == rotated {
		t.Fatal("clients not rebuilt after Cleanup")
	}
}

// TestPeriodicRollsBackUnfinishedUsers plays a crash between CreateUser
// and the key being handed out: the pending-user record outlives the
// request, and Periodic deletes the user once the record is old enough.
func TestPeriodicRollsBackUnfinishedUsers(t *testing.T) {
	fake, err := awstest.New(awstest.Config{AccessKeyID: "AKIAINTERNAL00000001", SecretAccessKey: "internal-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	ctx := t.Context()
	s := storage.NewView(inmem.New(), "logical/aws/")
	now := time.Now()
	b, err := New(ctx, &logical.BackendConfig{MountPoint: "aws/", Storage: s}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	req := func(op logical.Operation, path string, data map[string]any) *logical.Response {
		t.Helper()
		resp, err := b.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, Storage: s})
		if err != nil {
			t.Fatalf("%s %s: %v", op, path, err)
		}
		return resp
	}
	req(logical.UpdateOperation, "config/root", map[string]any{
		"access_key": "AKIAINTERNAL00000001", "secret_key": "internal-secret", "iam_endpoint": fake.URL, "sts_endpoint": fake.URL,
	})
	req(logical.UpdateOperation, "roles/r", map[string]any{"credential_type": "iam_user", "policy_document": "{}"})
	// A finished creation leaves no record.
	resp := req(logical.ReadOperation, "creds/r", nil)
	if keys, _ := s.List(ctx, walPrefix); len(keys) != 0 {
		t.Fatalf("records after a finished creation: %v", keys)
	}
	// An unfinished one: the user exists, its record too.
	user := resp.Secret.InternalData["username"].(string)
	if err := putJSON(ctx, s, walPrefix+user, &walUser{UserName: user, Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := putJSON(ctx, s, walPrefix+"gone", &walUser{UserName: "gone", Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := b.Periodic(ctx); err != nil || !fake.UserExists(user) {
		t.Fatalf("Periodic rolled back a young record (err %v)", err)
	}
	now = now.Add(walMinAge + time.Second)
	if err := b.Periodic(ctx); err != nil {
		t.Fatal(err)
	}
	if fake.UserExists(user) {
		t.Fatal("Periodic left the unfinished user")
	}
	if keys, _ := s.List(ctx, walPrefix); len(keys) != 0 {
		t.Fatalf("records left after the rollback: %v", keys)
	}
}
