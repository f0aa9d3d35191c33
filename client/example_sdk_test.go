package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/client"
)

func ExampleWithGRPC() {
	ctx := context.Background()
	// Same address, same helpers: the calls go through the server's
	// Logical and Sys gRPC services instead of REST.
	c, err := client.New(client.WithGRPC())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s, err := c.KV("secret").Get(ctx, "app/db")
	if err != nil {
		log.Fatal(err)
	}
	h, err := c.Sys().Health(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Data["password"], "sealed:", h.Sealed)
	// Output: hunter2 sealed: false
}

func ExampleWithKVCache() {
	ctx := context.Background()
	c, err := client.New(client.WithKVCache(30 * time.Second))
	if err != nil {
		log.Fatal(err)
	}
	kv := c.KV("secret")
	if _, err := kv.Put(ctx, "app/cfg", map[string]any{"color": "blue"}); err != nil {
		log.Fatal(err)
	}
	first, err := kv.Get(ctx, "app/cfg") // from the server, then cached
	if err != nil {
		log.Fatal(err)
	}
	// The client's own write drops the cached answer.
	if _, err := kv.Put(ctx, "app/cfg", map[string]any{"color": "green"}); err != nil {
		log.Fatal(err)
	}
	second, err := kv.Get(ctx, "app/cfg")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.Data["color"], second.Data["color"])
	// Output: blue green
}

func ExampleWithRetry() {
	ctx := context.Background()
	// Up to 5 attempts, waiting 200ms, 400ms, 800ms then 1s (each with
	// jitter) after a 5xx or a connection error; a 4xx is never retried
	// and ctx bounds the whole call.
	c, err := client.New(client.WithRetry(client.RetryPolicy{MaxAttempts: 5, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = c.KV("secret").Get(ctx, "no/such/secret")
	fmt.Println(errors.Is(err, client.ErrNotFound))
	// Output: true
}

func ExampleKV_Patch() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	kv := c.KV("secret")
	if _, err := kv.Put(ctx, "app/patch", map[string]any{"user": "svc", "password": "old", "debug": true}); err != nil {
		log.Fatal(err)
	}
	// A JSON merge patch: change one key, remove another.
	meta, err := kv.Patch(ctx, "app/patch", map[string]any{"password": "new", "debug": nil})
	if err != nil {
		log.Fatal(err)
	}
	s, err := kv.Get(ctx, "app/patch")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(meta.Version, s.Data)
	// Output: 2 map[password:new user:svc]
}

func ExampleKV_Versions() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	kv := c.KV("secret")
	for _, v := range []string{"a", "b", "c"} {
		if _, err := kv.Put(ctx, "app/versions", map[string]any{"v": v}); err != nil {
			log.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "app/versions", 2); err != nil {
		log.Fatal(err)
	}
	if err := kv.Destroy(ctx, "app/versions", 1); err != nil {
		log.Fatal(err)
	}
	vs, err := kv.Versions(ctx, "app/versions")
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range vs {
		fmt.Printf("v%d deleted=%v destroyed=%v\n", v.Version, !v.DeletionTime.IsZero(), v.Destroyed)
	}
	// Output:
	// v1 deleted=false destroyed=true
	// v2 deleted=true destroyed=false
	// v3 deleted=false destroyed=false
}

func ExampleSys_Health() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	h, err := c.Sys().Health(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("initialized:", h.Initialized, "sealed:", h.Sealed, "standby:", h.Standby)
	// Output: initialized: true sealed: false standby: false
}

func ExampleAuth_UserPass() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Auth().UserPass(ctx, "userpass", "alice", "alice-password")
	if err != nil {
		log.Fatal(err)
	}
	alice, err := client.New(client.WithToken(s.Auth.ClientToken))
	if err != nil {
		log.Fatal(err)
	}
	self, err := alice.Token().LookupSelf(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Auth.Policies, self.Data["display_name"])
	_, err = c.Auth().UserPass(ctx, "userpass", "alice", "wrong")
	fmt.Println("wrong password refused:", err != nil)
	// Output:
	// [default dev] userpass-alice
	// wrong password refused: true
}

func ExamplePolicies_ACL() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	acl := c.Policies().ACL()
	if err := acl.Put(ctx, "dev", `path "secret/data/dev/*" { capabilities = ["read", "list"] }`); err != nil {
		log.Fatal(err)
	}
	names, err := acl.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	dev, err := c.Token().Create(ctx, &client.TokenCreateRequest{Policies: []string{"dev"}})
	if err != nil {
		log.Fatal(err)
	}
	e, err := c.Policies().Explain(ctx, &client.ExplainRequest{Path: "secret/data/prod/db", Operation: "read", Token: dev.Auth.ClientToken})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names, "prod readable:", e.Allowed)
	// Output: [default dev root] prod readable: false
}

func ExampleRotation_Check() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// What `vaultctl rotation check` fails on: secrets overdue or due soon.
	bad, err := c.Rotation().Check(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range bad {
		fmt.Println(s.Path, s.Policy, s.State, s.Due)
	}
	fmt.Println(len(bad), "secrets need rotation")
	// Output: 0 secrets need rotation
}

func ExampleAudit_Verify() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "audit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	logFile := filepath.Join(dir, "audit.log")
	sys := c.Sys()
	if err := sys.EnableAudit(ctx, "example", &client.AuditInput{Type: "file", Options: map[string]string{"file_path": logFile}}); err != nil {
		log.Fatal(err)
	}
	key, err := sys.AuditPublicKey(ctx, "example")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.KV("secret").Get(ctx, "app/db"); err != nil {
		log.Fatal(err)
	}
	if err := sys.DisableAudit(ctx, "example"); err != nil { // closes the log with a signed checkpoint
		log.Fatal(err)
	}
	pub, err := key.Ed25519()
	if err != nil {
		log.Fatal(err)
	}
	// Offline: the files are read here, nothing is sent to the server.
	// The device writes its closing checkpoint once the requests audited
	// to it (the disable itself included) have answered: give it a moment.
	var rep audit.Report
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if rep, err = c.Audit().Verify(ctx, pub, logFile); err != nil {
			log.Fatal(err)
		}
		if rep.OK || time.Now().After(deadline) {
			break
		}
	}
	fmt.Println("intact:", rep.OK, "entries:", rep.Entries > 0, "signed checkpoints:", rep.Checkpoints > 0)
	// Output: intact: true entries: true signed checkpoints: true
}

func ExampleClient_NewLifetimeWatcher() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// A token that lives 3s per renewal and 6s at most.
	tok, err := c.Token().Create(ctx, &client.TokenCreateRequest{TTL: "3s", ExplicitMaxTTL: "6s"})
	if err != nil {
		log.Fatal(err)
	}
	w, err := c.NewLifetimeWatcher(&client.LifetimeWatcherInput{Secret: tok})
	if err != nil {
		log.Fatal(err)
	}
	w.Start(ctx)
	defer w.Stop()
	renewed := false
	for {
		select {
		case <-w.RenewCh():
			renewed = true
		case err := <-w.DoneCh():
			// Renewal stopped: log in again (or read new credentials).
			fmt.Println("renewed:", renewed, "max TTL reached:", errors.Is(err, client.ErrMaxTTLReached))
			return
		}
	}
	// Output: renewed: true max TTL reached: true
}
