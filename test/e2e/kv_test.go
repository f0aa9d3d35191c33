package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"

	vault "github.com/openbao/openbao/api/v2"
)

func responseStatus(err error) int {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// TestEndToEnd drives a real vaultd with the OpenBao Go client: init 5/3,
// unseal, kv-v2 through its whole life cycle, seal -> 503, unseal -> data.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	init := s.initUnseal(5, 3)
	if len(init.Keys) != 5 || len(init.KeysB64) != 5 || init.RootToken == "" {
		t.Fatalf("init response: %+v", init)
	}
	c := s.client(init.RootToken)
	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	kv := c.KVv2("secret")

	v1, err := kv.Put(ctx, "app/db", map[string]any{"password": "hunter2"})
	if err != nil || v1.VersionMetadata.Version != 1 {
		t.Fatalf("put v1: %+v, %v", v1, err)
	}
	if _, err := kv.Put(ctx, "app/db", map[string]any{"password": "hunter3"}, vault.WithCheckAndSet(1)); err != nil {
		t.Fatalf("put v2 with cas=1: %v", err)
	}
	if _, err := kv.Put(ctx, "app/db", map[string]any{"password": "x"}, vault.WithCheckAndSet(1)); responseStatus(err) != http.StatusBadRequest {
		t.Fatalf("stale cas: %v", err)
	}
	got, err := kv.Get(ctx, "app/db")
	if err != nil || got.Data["password"] != "hunter3" || got.VersionMetadata.Version != 2 {
		t.Fatalf("get latest: %+v, %v", got, err)
	}
	old, err := kv.GetVersion(ctx, "app/db", 1)
	if err != nil || old.Data["password"] != "hunter2" {
		t.Fatalf("get v1: %+v, %v", old, err)
	}
	if _, err := kv.Put(ctx, "app/api", map[string]any{"key": "k"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.Logical().List("secret/metadata/app")
	if err != nil || list == nil {
		t.Fatalf("list: %v, %v", list, err)
	}
	if keys := list.Data["keys"].([]any); len(keys) != 2 || keys[0] != "api" || keys[1] != "db" {
		t.Fatalf("list keys = %v", keys)
	}
	empty, err := c.Logical().List("secret/metadata/nothing-here")
	if err != nil || empty != nil {
		t.Fatalf("empty list should be nil, nil: %v, %v", empty, err)
	}

	if err := kv.Delete(ctx, "app/db"); err != nil {
		t.Fatal(err)
	}
	// As Vault: a soft-deleted version reads as 404 with data null and its
	// metadata (deletion_time set), which the client returns as such.
	if del, err := kv.Get(ctx, "app/db"); err != nil || del.Data != nil || del.VersionMetadata == nil || del.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("read of a deleted version: %+v, %v", del, err)
	}
	if raw, err := c.Logical().Read("secret/data/app/db"); err != nil || raw == nil || raw.Data["data"] != nil || raw.Data["metadata"] == nil {
		t.Fatalf("raw read of a deleted version: %+v, %v", raw, err)
	}
	if err := kv.Undelete(ctx, "app/db", []int{2}); err != nil {
		t.Fatal(err)
	}
	if got, err := kv.Get(ctx, "app/db"); err != nil || got.Data["password"] != "hunter3" {
		t.Fatalf("after undelete: %+v, %v", got, err)
	}
	if err := kv.Destroy(ctx, "app/db", []int{1}); err != nil {
		t.Fatal(err)
	}
	if d, err := kv.GetVersion(ctx, "app/db", 1); err != nil || d.Data != nil || !d.VersionMetadata.Destroyed {
		t.Fatalf("destroyed version: %+v, %v", d, err)
	}
	meta, err := kv.GetMetadata(ctx, "app/db")
	if err != nil || meta.CurrentVersion != 2 || meta.MaxVersions != 10 || !meta.Versions["1"].Destroyed {
		t.Fatalf("metadata: %+v, %v", meta, err)
	}

	// Seal: everything but the seal endpoints answers 503.
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "app/api"); responseStatus(err) != http.StatusServiceUnavailable {
		t.Fatalf("read while sealed: %v", err)
	}
	s.unseal([]string{init.Keys[4], init.Keys[2], init.Keys[0]})
	if got, err := kv.Get(ctx, "app/api"); err != nil || got.Data["key"] != "k" {
		t.Fatalf("after unseal: %+v, %v", got, err)
	}
}
