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

// The examples of this file change what a server is (init, rekey,
// generate-root, rotation) or need one set up otherwise, so they are
// compiled but not run, except those of pure functions, which carry their
// output. Those of example_engines_test.go and example_sdk_test.go run
// against the test server TestMain starts.

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

func ExampleSys_RekeyInit() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// Replace the unseal keys with 5 new shares, 3 of which unseal. The
	// holders of the current shares each submit one with the nonce.
	st, err := c.Sys().RekeyInit(ctx, &client.RekeyInitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil {
		log.Fatal(err)
	}
	for _, share := range []string{"current-share-1", "current-share-2"} {
		res, err := c.Sys().RekeyUpdate(ctx, share, st.Nonce)
		if err != nil {
			log.Fatal(err)
		}
		if res.Complete {
			for i, k := range res.KeysB64 {
				fmt.Printf("new key %d: %s\n", i+1, k)
			}
		}
	}
}

func ExampleWithRotateKeys() {
	ctx := context.Background()
	// OpenBao's token-authenticated form of the same ceremony
	// (sys/rotate/root/*) needs a root token.
	c, err := client.New(client.WithToken(os.Getenv("ROOT_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.Sys().RekeyStatus(ctx, client.WithRotateKeys())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("started %v, %d/%d shares\n", st.Started, st.Progress, st.Required)
}

func ExampleSys_GenerateRootInit() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// With no OTP of its own the initiator gets one from the server: it
	// is shown once, and only it decodes the new token.
	st, err := c.Sys().GenerateRootInit(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	otp := st.OTP
	for _, share := range []string{"unseal-share-1", "unseal-share-2"} {
		if st, err = c.Sys().GenerateRootUpdate(ctx, share, st.Nonce); err != nil {
			log.Fatal(err)
		}
	}
	if !st.Complete {
		log.Fatalf("%d of %d shares submitted", st.Progress, st.Required)
	}
	root, err := client.DecodeRootToken(st.EncodedToken, otp)
	if err != nil {
		log.Fatal(err)
	}
	c.SetToken(root)
}

func ExampleDecodeRootToken() {
	// The encoded_token of a completed generate-root and its OTP.
	token, err := client.DecodeRootToken("KxlATBoXCzkqDgETDxJiGmpHPihfaz0tIlJ1PjYAOSVXfi4j",
		"Xo3bNf8QzT1yWk5vR2uLm9PcAe7Hs4Jd6GiE")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(token)
	// Output: svs.Tq3hPZ0jXyWl8uKd2RmNc7BvE4sAa9Gf
}

func ExampleSys_Rotate() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Sys().Rotate(ctx); err != nil {
		log.Fatal(err)
	}
	ks, err := c.Sys().KeyStatus(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("barrier key term", ks.Term, "installed", ks.InstallTime)
}
