package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// The examples need a running server, so they compile but are not run.

func ExampleNew() {
	// VAULT_ADDR, VAULT_TOKEN and VAULT_CACERT are read when not overridden.
	c, err := client.New(
		client.WithAddress("https://vault.example.com:8200"),
		client.WithCACert("/etc/secretumvault/ca.pem"),
		client.WithTimeout(10*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Address())
}

func ExampleSys_Init() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Sys().Init(ctx, &client.InitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range res.Keys[:3] {
		st, err := c.Sys().Unseal(ctx, key)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("sealed:", st.Sealed, "progress:", st.Progress)
	}
	c.SetToken(res.RootToken)
}

func ExampleKV_Put() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	kv := c.KV("secret")
	// Create app/db only if it does not exist yet.
	meta, err := kv.Put(ctx, "app/db", map[string]any{"password": "hunter2"}, client.WithCAS(0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version", meta.Version)
}

func ExampleKV_Get() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.KV("secret").Get(ctx, "app/db", client.WithVersion(1))
	if errors.Is(err, client.ErrNotFound) {
		fmt.Println("no such secret")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Data["password"], s.VersionMetadata.Version)
}

func ExampleTokenAuth_Create() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Token().Create(ctx, &client.TokenCreateRequest{Policies: []string{"dev"}, TTL: "1h"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Auth.Accessor)
}

func ExampleClient_Read() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Read(ctx, "secret/data/app/db", nil)
	var re *client.ResponseError
	if errors.As(err, &re) {
		fmt.Println("server said", re.StatusCode, re.Errors)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Data)
}

func ExampleRaft_SaveSnapshot() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// Write to a temporary file and keep it only if the whole snapshot
	// arrived: an aborted stream is an error, never a short file.
	f, err := os.CreateTemp(".", "backup-*.snap")
	if err != nil {
		log.Fatal(err)
	}
	n, err := c.Raft().SaveSnapshot(ctx, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		log.Fatal(err)
	}
	fmt.Printf("saved %d bytes to %s\n", n, f.Name())
}

func ExampleRaft_Peers() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	peers, err := c.Raft().Peers(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range peers {
		fmt.Println(p.NodeID, p.Address, p.Leader, p.Voter)
	}
}
