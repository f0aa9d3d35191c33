package database_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database"
	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
	"github.com/secretumvault/secretumvault/internal/testutil"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// clock is a settable time source (testutil.Clock).
type clock = testutil.Clock

// system is core's glue for an engine: passwords from Vault's default
// policy (the real generator), fixed mount TTLs.
type system struct {
	def, max time.Duration
	mu       sync.Mutex
	policies []string // policies asked for, in order
	last     string   // the last password generated
}

// lastPassword is the last password generated.
func (s *system) lastPassword() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *system) GeneratePassword(ctx context.Context, policy string) (string, error) {
	s.mu.Lock()
	s.policies = append(s.policies, policy)
	s.mu.Unlock()
	if policy != "" && policy != "default" {
		return "", fmt.Errorf("password policy %q not found", policy)
	}
	pw, err := passwordpolicy.Default().Generate(ctx, rand.Reader)
	s.mu.Lock()
	s.last = pw
	s.mu.Unlock()
	return pw, err
}

func (s *system) MountTTLs() (def, max time.Duration) { return s.def, s.max }

// syncBuffer is a log sink safe for concurrent writes (testutil.SyncBuffer).
type syncBuffer = testutil.SyncBuffer

// harness is one database mount over an inmem store, seen through a
// view as core mounts it.
type harness struct {
	t     testing.TB
	b     *database.Backend
	phys  *inmem.Backend
	store logical.Storage
	clock *clock
	sys   *system
	logs  *syncBuffer
	plugs map[string]func() dbplugin.Database

	evMu   sync.Mutex
	events []database.RotationEvent
}

// rotations returns the rotation events observed so far.
func (h *harness) rotations() []database.RotationEvent {
	h.evMu.Lock()
	defer h.evMu.Unlock()
	return append([]database.RotationEvent(nil), h.events...)
}

func newHarness(t testing.TB, plugins map[string]func() dbplugin.Database) *harness {
	t.Helper()
	phys := inmem.New()
	h := &harness{
		t: t, phys: phys, store: storage.NewView(phys, "logical/db-test/"),
		// Real time: servers compare user expirations with their clocks.
		clock: testutil.NewClock(time.Now().UTC().Truncate(time.Second)),
		sys:   &system{def: time.Hour, max: 24 * time.Hour},
		logs:  &syncBuffer{}, plugs: plugins,
	}
	h.b = h.mount()
	t.Cleanup(func() { h.b.Cleanup(context.Background()) })
	return h
}

// mount builds a Backend over the harness's storage (a second call is
// another node's instance after a failover).
func (h *harness) mount() *database.Backend {
	h.t.Helper()
	b, err := database.New(context.Background(), &logical.BackendConfig{
		MountPoint: "database/", Storage: h.store, System: h.sys,
	}, h.plugs, database.WithClock(h.clock.Now),
		database.WithRotationObserver(func(_ context.Context, ev database.RotationEvent) {
			h.evMu.Lock()
			h.events = append(h.events, ev)
			h.evMu.Unlock()
		}),
		database.WithLogger(slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(h.ctx(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store, MountPoint: "database/", MountType: database.Type,
	})
}

func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// secretOp sends the expiration manager's renew or revoke of sec.
func (h *harness) secretOp(op logical.Operation, sec *logical.Secret, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(h.ctx(), &logical.Request{
		Operation: op, Path: "creds/x", Data: data, Secret: sec, Storage: h.store, MountPoint: "database/", MountType: database.Type,
	})
}

// creds reads creds/role and returns the username, password and lease,
// with the lease's IssueTime set as core sets it.
func (h *harness) creds(role string) (string, string, *logical.Secret) {
	h.t.Helper()
	resp := h.must(logical.ReadOperation, "creds/"+role, nil)
	if resp.Secret == nil {
		h.t.Fatalf("creds/%s: no lease", role)
	}
	sec := *resp.Secret
	sec.IssueTime = h.clock.Now()
	return resp.Data["username"].(string), resp.Data["password"].(string), &sec
}

// wantErr fails unless err matches target and, for a non-empty msg,
// mentions it.
func wantErr(t testing.TB, err, target error, msg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %q, want it to mention %q", err, msg)
	}
}

// wantField fails unless err is a 400 naming field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	var ire *logical.InvalidRequestError
	if !errors.As(err, &ire) || ire.Field != field {
		t.Fatalf("err = %v, want an invalid request naming %q", err, field)
	}
}
