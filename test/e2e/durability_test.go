package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// TestKill9KeepsAcknowledgedWrites writes from several clients, kills the
// server with SIGKILL mid-stream, restarts, unseals and reads back every
// write the server acknowledged.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	init := s.initUnseal(3, 2)
	c := s.client(init.RootToken)
	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]string{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			kv := s.client(init.RootToken).KVv2("secret")
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, val := fmt.Sprintf("w%d/k%d", w, i), fmt.Sprintf("v-%d-%d", w, i)
				if _, err := kv.Put(ctx, key, map[string]any{"v": val}); err != nil {
					return // the server died under us: not acknowledged
				}
				mu.Lock()
				acked[key] = val
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	s.stop(syscall.SIGKILL)
	close(stop)
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d writes acknowledged before the kill", len(acked))
	}
	s.start()
	s.unseal(init.Keys[:2])
	kv := s.client(init.RootToken).KVv2("secret")
	for key, want := range acked {
		got, err := kv.Get(ctx, key)
		if err != nil || got.Data["v"] != want {
			t.Fatalf("acknowledged write %s lost after kill -9: %+v, %v", key, got, err)
		}
	}
	t.Logf("%d acknowledged writes survived kill -9", len(acked))
}

// TestNoPlaintextAtRest writes a sentinel and checks that no file under
// the data directory holds it, the root token or any unseal key.
func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	init := s.initUnseal(5, 3)
	c := s.client(init.RootToken)
	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	const sentinel = "SENTINEL-7f3a9c2e-plaintext-must-never-touch-disk"
	if _, err := c.KVv2("secret").Put(ctx, "probe", map[string]any{"value": sentinel}); err != nil {
		t.Fatal(err)
	}
	child, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	// Stop cleanly so every buffer reaches the files, then scan them.
	s.stop(syscall.SIGTERM)
	needles := [][]byte{[]byte(sentinel), []byte(init.RootToken), []byte(child.Auth.ClientToken)}
	for i, k := range init.Keys {
		needles = append(needles, []byte(k), []byte(init.KeysB64[i]))
		raw, _ := base64.StdEncoding.DecodeString(init.KeysB64[i])
		needles = append(needles, raw)
	}
	if hits := filesContaining(t, s.dir+"/data", needles...); len(hits) > 0 {
		t.Fatalf("plaintext secrets on disk:\n%v", hits)
	}
	// Positive control: the scan does see the raw files (bbolt's own magic
	// header is plaintext), so an empty hit list above means something.
	if hits := filesContaining(t, s.dir+"/data", []byte{0xED, 0xDA, 0x0C, 0xED}); len(hits) == 0 {
		t.Fatal("positive control failed: no bbolt file found under the data directory")
	}
	s.start()
	s.unseal(init.Keys[:3])
	got, err := s.client(init.RootToken).KVv2("secret").Get(ctx, "probe")
	if err != nil || got.Data["value"] != sentinel {
		t.Fatalf("sentinel not readable after restart: %v", err)
	}
}
