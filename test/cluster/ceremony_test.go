package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	vaultroottoken "github.com/hashicorp/vault/sdk/helper/roottoken"
	vault "github.com/openbao/openbao/api/v2"
)

// TestKeyCeremonies runs the key ceremonies against a real 3-node cluster
// with OpenBao's Go client — the calls `bao operator rekey`, `rotate-keys`,
// `generate-root` and `rotate` make — through standbys: a Vault-style
// unauthenticated rekey, OpenBao's token-authenticated rotate-keys, a
// generated root token decoded with Vault's decoder, keyring and root key
// rotations. Then, in a rolling restart, every node must refuse the old
// keys, unseal with the new ones and serve the data written before.
func TestKeyCeremonies(t *testing.T) {
	ctx := context.Background()
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	if err := kvPut(c, leader, root, "app", "hunter2", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	standby := c.Others(leader)[0]
	anon := c.Client(standby, "")
	oldKeys := c.init.Keys

	// Vault's rekey (unauthenticated): 3/2 -> 5/3.
	//lint:ignore SA1019 sys/rekey/* is what Vault's CLI (vault operator rekey) calls.
	st, err := anon.Sys().RekeyInitWithContext(ctx, &vault.RekeyInitRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil || !st.Started || st.Required != 2 {
		t.Fatalf("rekey init: %+v, %v", st, err)
	}
	var up *vault.RekeyUpdateResponse
	for _, k := range oldKeys[:2] {
		//lint:ignore SA1019 as above.
		if up, err = anon.Sys().RekeyUpdateWithContext(ctx, k, st.Nonce); err != nil {
			t.Fatalf("rekey update: %v", err)
		}
	}
	if up == nil || !up.Complete || len(up.KeysB64) != 5 {
		t.Fatalf("rekey result %+v", up)
	}
	rekeyed := up.KeysB64

	// OpenBao's rotate-keys (token-authenticated): 5/3 -> 4/2.
	if _, err := anon.Sys().RotateRootInitWithContext(ctx, &vault.RotateInitRequest{SecretShares: 4, SecretThreshold: 2}); statusOf(err) != 403 {
		t.Fatalf("rotate-keys without a token: %v, want 403", err)
	}
	admin := c.Client(standby, root)
	rst, err := admin.Sys().RotateRootInitWithContext(ctx, &vault.RotateInitRequest{SecretShares: 4, SecretThreshold: 2})
	if err != nil || rst == nil || !rst.Started || rst.Required != 3 {
		t.Fatalf("rotate-keys init: %+v, %v", rst, err)
	}
	var rup *vault.RotateUpdateResponse
	for _, k := range rekeyed[1:4] {
		if rup, err = admin.Sys().RotateRootUpdateWithContext(ctx, k, rst.Nonce); err != nil {
			t.Fatalf("rotate-keys update: %v", err)
		}
	}
	if rup == nil || !rup.Complete || len(rup.KeysB64) != 4 {
		t.Fatalf("rotate-keys result %+v", rup)
	}
	newKeys := rup.KeysB64

	// Generate a root token from the new shares (unauthenticated), decode
	// it as the CLIs do, and use it.
	gs, err := anon.Sys().GenerateRootInitWithContext(ctx, "", "")
	if err != nil || gs.OTP == "" || len(gs.OTP) != gs.OTPLength || !gs.Started {
		t.Fatalf("generate-root init: %+v, %v", gs, err)
	}
	var gu *vault.GenerateRootStatusResponse
	for _, k := range newKeys[2:4] {
		if gu, err = anon.Sys().GenerateRootUpdateWithContext(ctx, k, gs.Nonce); err != nil {
			t.Fatalf("generate-root update: %v", err)
		}
	}
	if gu == nil || !gu.Complete || gu.EncodedToken == "" {
		t.Fatalf("generate-root result %+v", gu)
	}
	newRoot, err := vaultroottoken.DecodeToken(gu.EncodedToken, gs.OTP, gs.OTPLength)
	if err != nil {
		t.Fatal(err)
	}
	minted := c.Client(standby, newRoot)
	if err := minted.Sys().MountWithContext(ctx, "minted", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("the generated root token: %v", err)
	}

	// Keyring term and root key rotations.
	before, err := minted.Sys().KeyStatusWithContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := minted.Sys().RotateKeyringWithContext(ctx); err != nil {
		t.Fatalf("rotate keyring: %v", err)
	}
	if err := minted.Sys().RotateRootWithContext(ctx); err != nil {
		t.Fatalf("rotate root key: %v", err)
	}
	after, err := minted.Sys().KeyStatusWithContext(ctx)
	if err != nil || after.Term != before.Term+1 {
		t.Fatalf("key status after rotate: %+v (before %+v), %v", after, before, err)
	}
	if err := kvPut(c, c.WaitLeader(30*time.Second), newRoot, "after-rotations", "ok", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// A rolling restart: every node comes back sealed from its data
	// directory, refuses the original keys and unseals with the new ones.
	n0 := c.Nodes[0]
	if err := n0.stop(); err != nil {
		t.Fatal(err)
	}
	if err := n0.start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := unsealOnce(c.Client(0, ""), oldKeys[:2]); err == nil {
		t.Fatal("the original keys still unseal a node")
	}
	if _, err := c.Client(0, "").Sys().ResetUnsealProcess(); err != nil {
		t.Fatal(err)
	}
	c.setUnsealKeys(newKeys, 2)
	if err := c.Unseal(0, time.Minute); err != nil {
		t.Fatalf("node0 with the new keys: %v", err)
	}
	for i := 1; i < len(c.Nodes); i++ {
		if err := c.Restart(i); err != nil { // unseals with the new keys
			t.Fatalf("node%d: %v", i, err)
		}
	}
	l := c.WaitLeader(30 * time.Second)
	for i := range c.Nodes {
		for _, key := range []string{"app", "after-rotations"} {
			if v, err := kvGet(c, i, newRoot, key); err != nil || v == "" {
				t.Fatalf("node%d (leader node%d) reads %s = %q, %v", i, l, key, v, err)
			}
		}
	}
}

// setUnsealKeys makes keys (threshold of them unseal) the cluster's
// unseal keys, after a rekey.
func (c *Cluster) setUnsealKeys(keys []string, threshold int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	init := *c.init
	init.Keys, init.KeysB64 = keys, keys
	c.init = &init
	c.opts.Threshold = threshold
}

// statusOf is the HTTP status of an API error (0 if none).
func statusOf(err error) int {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
