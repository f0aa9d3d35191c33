package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestClientLimiter(t *testing.T) {
	clock := &stepClock{now: time.Unix(1_800_000_000, 0)}
	l := newClientLimiter(clock.Now)
	for i := range unauthBurst {
		if !l.allow("a") {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.allow("a") {
		t.Fatal("request past the burst allowed")
	}
	if !l.allow("b") {
		t.Fatal("another client was limited by a's requests")
	}
	clock.add(time.Second)
	if !l.allow("a") {
		t.Fatal("a still refused after its bucket refilled")
	}
	// Bounded memory: a flood of addresses never grows the table past
	// maxClients; the excess shares the overflow bucket.
	l.maxClients = 50
	for i := range 1000 {
		l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := l.size(); n > 50 {
		t.Fatalf("%d clients remembered, want at most 50", n)
	}
	// Idle clients are forgotten.
	clock.add(2 * unauthIdle)
	l.allow("c")
	if n := l.size(); n != 1 {
		t.Fatalf("%d clients remembered after they went idle, want 1", n)
	}
}

// TestUnauthenticatedRoutesAreRateLimited: one client hammering an
// unauthenticated route gets 429 (ErrRateLimited) past the burst; other
// clients and authenticated routes are unaffected.
func TestUnauthenticatedRoutesAreRateLimited(t *testing.T) {
	clock := &stepClock{now: time.Unix(1_800_000_000, 0)}
	c, err := New(Config{Physical: inmem.New(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, root, err := c.InitializeDev(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	from := func(addr, path, tok string) error {
		_, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: path, ClientToken: tok,
			Connection: &logical.Connection{RemoteAddr: addr}})
		return err
	}
	var limited int
	for range unauthBurst + 20 {
		if err := from("198.51.100.1", "sys/seal-status", ""); errors.Is(err, logical.ErrRateLimited) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited != 20 {
		t.Fatalf("%d requests limited, want the 20 past the burst", limited)
	}
	if err := from("198.51.100.2", "sys/seal-status", ""); err != nil {
		t.Fatalf("another client: %v", err)
	}
	if err := from("198.51.100.1", "sys/mounts", root); err != nil {
		t.Fatalf("authenticated route from the limited client: %v", err)
	}
}
