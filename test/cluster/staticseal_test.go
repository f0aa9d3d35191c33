package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// TestStaticSealUnattended configures every node with the same static
// seal key: init leaves node0 unsealed, the others join and unseal with no
// operator, and a killed node comes back unsealed by itself.
func TestStaticSealUnattended(t *testing.T) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "static.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Start(t, 3, Options{Shares: 3, Threshold: 2, LogLevel: "info",
		ExtraHCL: fmt.Sprintf("seal \"static\" {\n  key_file = %q\n}\n", keyFile)})
	init, err := c.Client(0, "").Sys().Init(&vault.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitUnsealed := func(i int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			st, err := c.Client(i, "").Sys().SealStatus()
			if err == nil && st.Initialized && !st.Sealed {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("node%d did not unseal by itself", i)
	}
	for i := range c.Nodes {
		waitUnsealed(i)
	}
	leader := c.WaitLeader(30 * time.Second)
	root := init.RootToken
	if err := c.Client(leader, root).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	if err := kvPut(c, 2, root, "k", "v", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	victim := c.Others(leader)[0]
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	n := c.Nodes[victim]
	if err := n.start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitUnsealed(victim)
	if v, err := kvGet(c, victim, root, "k"); err != nil || v != "v" {
		t.Fatalf("read through the auto-unsealed node = %q, %v", v, err)
	}
}
