package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// kvValue reads key of path through kv, "" and the error class when it
// fails.
func kvValue(t *testing.T, kv *client.KV, path string, opts ...client.GetOption) string {
	t.Helper()
	s, err := kv.Get(context.Background(), path, opts...)
	if err != nil {
		return "error: " + errClass(err)
	}
	return fmt.Sprint(s.Data["v"])
}

func TestKVCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	for _, tc := range []struct {
		name string
		opts []client.Option
	}{{"rest", nil}, {"grpc", []client.Option{client.WithGRPC()}}} {
		t.Run(tc.name, func(t *testing.T) {
			cached := rs.client(t, append(tc.opts, client.WithKVCache(time.Hour))...).KV("secret")
			other := rs.client(t).KV("secret")
			p := "cache/" + tc.name
			put := func(kv *client.KV, v string) {
				t.Helper()
				if _, err := kv.Put(ctx, p, map[string]any{"v": v}); err != nil {
					t.Fatal(err)
				}
			}
			put(other, "1")
			steps := []struct {
				name string
				do   func()
				want string
			}{
				{"first read goes to the server", nil, "1"},
				{"another client's write is not seen within the TTL", func() { put(other, "2") }, "1"},
				{"the client's own Put invalidates", func() { put(cached, "3") }, "3"},
				{"the answer is cached again", func() { put(other, "4") }, "3"},
				{"the client's own Patch invalidates", func() {
					if _, err := cached.Patch(ctx, p, map[string]any{"v": "5"}); err != nil {
						t.Fatal(err)
					}
				}, "5"},
				{"the client's own Delete invalidates", func() {
					if err := cached.Delete(ctx, p); err != nil {
						t.Fatal(err)
					}
				}, "error: not found 404 []"},
				{"a miss is not cached", func() {
					if err := other.Undelete(ctx, p, 5); err != nil {
						t.Fatal(err)
					}
				}, "5"},
				{"another client's Destroy is not seen within the TTL", func() {
					if err := other.Destroy(ctx, p, 5); err != nil {
						t.Fatal(err)
					}
				}, "5"},
			}
			for _, s := range steps {
				if s.do != nil {
					s.do()
				}
				if got := kvValue(t, cached, p); got != s.want {
					t.Fatalf("%s: got %q, want %q", s.name, got, s.want)
				}
			}
		})
	}
}

// TestKVCacheGenericWrites: writes through the generic calls of the
// caching client (data, metadata, destroy paths) invalidate too, and
// versions are cached apart.
func TestKVCacheGenericWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	c := rs.client(t, client.WithKVCache(time.Hour))
	kv := c.KV("secret")
	other := rs.client(t).KV("secret")
	if _, err := other.Put(ctx, "g", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	if got := kvValue(t, kv, "g"); got != "1" {
		t.Fatalf("first read %q", got)
	}
	if _, err := other.Put(ctx, "g", map[string]any{"v": "2"}); err != nil {
		t.Fatal(err)
	}
	if got := kvValue(t, kv, "g", client.WithVersion(2)); got != "2" {
		t.Fatalf("version 2 is cached apart: %q", got)
	}
	if got := kvValue(t, kv, "g"); got != "1" {
		t.Fatalf("latest still cached: %q", got)
	}
	if _, err := c.Write(ctx, "secret/metadata/g", map[string]any{"max_versions": 5}); err != nil {
		t.Fatal(err)
	}
	if got := kvValue(t, kv, "g"); got != "2" {
		t.Fatalf("after a metadata write: %q", got)
	}
	if _, err := c.Write(ctx, "secret/destroy/g", map[string]any{"versions": []int{2}}); err != nil {
		t.Fatal(err)
	}
	if got := kvValue(t, kv, "g", client.WithVersion(2)); got != "error: not found 404 []" {
		t.Fatalf("after destroy: %q", got)
	}
	if _, err := c.Delete(ctx, "secret/metadata/g", nil); err != nil {
		t.Fatal(err)
	}
	if got := kvValue(t, kv, "g", client.WithVersion(1)); got != "error: not found 404 []" {
		t.Fatalf("after delete metadata: %q", got)
	}
}

// TestKVCacheExpires: with a TTL of 1ns every read is past it.
func TestKVCacheExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	kv := rs.client(t, client.WithKVCache(time.Nanosecond)).KV("secret")
	other := rs.client(t).KV("secret")
	for _, v := range []string{"1", "2", "3"} {
		if _, err := other.Put(ctx, "e", map[string]any{"v": v}); err != nil {
			t.Fatal(err)
		}
		if got := kvValue(t, kv, "e"); got != v {
			t.Fatalf("got %q, want %q", got, v)
		}
	}
	if _, err := client.New(noEnv, client.WithKVCache(-1)); !errors.Is(err, client.ErrInvalidArgument) {
		t.Fatalf("negative TTL: %v", err)
	}
}

// TestKVCacheConcurrent: readers and a writer on one caching client;
// once the writer is done, a read sees its last write (run with -race).
func TestKVCacheConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	c := rs.client(t, client.WithKVCache(time.Hour))
	kv := c.KV("secret")
	const writes = 20
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = kv.Get(ctx, "c")
			}
		}()
	}
	for i := 1; i <= writes; i++ {
		if _, err := kv.Put(ctx, "c", map[string]any{"v": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := kvValue(t, kv, "c"); got != fmt.Sprint(writes) {
		t.Fatalf("after the writes: %q, want %d", got, writes)
	}
}
