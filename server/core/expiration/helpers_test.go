package expiration_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// epoch is the test clock's start.
var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a test clock the scheduler reads through Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: epoch} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// revoker is a Revoker that records calls and fails as told.
type revoker struct {
	mu      sync.Mutex
	revoked map[string]int // successful revocations by lease id
	tries   map[string]int // every RevokeLease call by lease id
	renews  []time.Duration
	// fail, when set, decides the outcome of a RevokeLease call.
	fail func(l *expiration.Lease, try int) error
	// grant is the TTL RenewLease grants (0: echo the increment).
	grant    time.Duration
	renewErr error
	// gate, when set, makes RevokeLease wait until it is closed (then
	// succeed) or ctx ends; entered gets the lease id when it waits.
	gate    chan struct{}
	entered chan string
	// during, when set, runs inside every RevokeLease call with its ctx.
	during func(ctx context.Context, l *expiration.Lease)
}

func newRevoker() *revoker {
	return &revoker{revoked: map[string]int{}, tries: map[string]int{}, entered: make(chan string, 16)}
}

func (r *revoker) RevokeLease(ctx context.Context, l *expiration.Lease) error {
	r.mu.Lock()
	r.tries[l.ID]++
	try, fail, gate, during := r.tries[l.ID], r.fail, r.gate, r.during
	r.mu.Unlock()
	if during != nil {
		during(ctx, l)
	}
	if gate != nil {
		r.entered <- l.ID
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(l, try); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.revoked[l.ID]++
	r.mu.Unlock()
	return nil
}

func (r *revoker) RenewLease(_ context.Context, l *expiration.Lease, inc time.Duration) (*logical.Secret, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renews = append(r.renews, inc)
	if r.renewErr != nil {
		return nil, r.renewErr
	}
	s := *l.Secret
	s.TTL = r.grant
	return &s, nil
}

func (r *revoker) setFail(f func(l *expiration.Lease, try int) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func (r *revoker) revokedCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.revoked[id]
}

func (r *revoker) tryCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries[id]
}

// newStorage returns a barrier view over an unsealed in-memory barrier,
// as the core gives the manager.
func newStorage(t testing.TB) storage.Backend {
	t.Helper()
	ctx := context.Background()
	b := barrier.New(inmem.New())
	root, err := b.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	return storage.NewView(b, "sys/expire/")
}

// harness is one manager over shared storage, clock and revoker.
type harness struct {
	t     testing.TB
	st    storage.Backend
	clk   *clock
	rev   *revoker
	m     *expiration.Manager
	tweak func(*expiration.Config)
}

func newHarness(t testing.TB, tweak func(*expiration.Config)) *harness {
	h := &harness{t: t, st: newStorage(t), clk: newClock(), rev: newRevoker(), tweak: tweak}
	h.m = h.start()
	return h
}

// start builds and starts a new manager over the harness's storage (a
// new active node after failover) and stops it at the end of the test.
func (h *harness) start() *expiration.Manager {
	h.t.Helper()
	return h.startWith(h.st)
}

// startWith starts a new manager over st (the harness's storage, wrapped).
func (h *harness) startWith(st storage.Backend) *expiration.Manager {
	h.t.Helper()
	cfg := expiration.Config{
		Storage: st, Revoker: h.rev, Now: h.clk.Now,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseBackoff:  time.Second,
		MaxBackoff:   4 * time.Second,
		PollInterval: 2 * time.Millisecond,
	}
	if h.tweak != nil {
		h.tweak(&cfg)
	}
	m, err := expiration.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(m.Stop)
	return m
}

// lease builds a lease issued now under mount with ttl and max TTL.
func (h *harness) lease(id, mount string, ttl, maxTTL time.Duration, accessor string) *expiration.Lease {
	now := h.clk.Now()
	return &expiration.Lease{
		ID: id, MountPoint: mount, Path: id[:lastSlash(id)],
		Secret: &logical.Secret{
			Type: "creds", TTL: ttl, MaxTTL: maxTTL,
			InternalData: map[string]any{"username": "v-" + id[lastSlash(id)+1:]},
		},
		ClientTokenAccessor: accessor,
		IssueTime:           now, ExpireTime: now.Add(ttl), MaxExpireTime: now.Add(maxTTL),
		Renewable: true,
	}
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return 0
}

// register registers a lease and fails the test on error.
func (h *harness) register(id, mount string, ttl time.Duration, accessor string) *expiration.Lease {
	h.t.Helper()
	l := h.lease(id, mount, ttl, 4*ttl, accessor)
	if err := h.m.Register(context.Background(), l); err != nil {
		h.t.Fatalf("Register(%s): %v", id, err)
	}
	return l
}

// exists reports whether lease id is stored.
func (h *harness) exists(m *expiration.Manager, id string) bool {
	h.t.Helper()
	_, err := m.Lookup(context.Background(), id)
	if err != nil && !errors.Is(err, logical.ErrNotFound) {
		h.t.Fatalf("Lookup(%s): %v", id, err)
	}
	return err == nil
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitLoaded waits for m's load to finish.
func waitLoaded(t testing.TB, m *expiration.Manager) {
	t.Helper()
	select {
	case <-m.Loaded():
	case <-time.After(30 * time.Second):
		t.Fatal("load did not finish")
	}
}

func leaseID(mount, role string, i int) string {
	return fmt.Sprintf("%screds/%s/%04d", mount, role, i)
}
