package rotation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/rotation"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// secretValue is what the fake's secrets hold; it must never reach a
// webhook or an error.
const secretValue = "s3cr3t-value-never-sent"

// fakeRotator is an engine's Rotator over an in-memory set of secrets
// (the scheduler's own logic under test; the engines' real Rotators are
// tested in their packages and end to end).
type fakeRotator struct {
	mu       sync.Mutex
	secrets  map[string]*fakeSecret
	rotated  map[string]int
	verified map[string]int
}

type fakeSecret struct {
	last   time.Time
	fail   bool
	drift  bool
	tags   map[string]string
	guards []string
	value  string
}

func newFake() *fakeRotator {
	return &fakeRotator{secrets: map[string]*fakeSecret{}, rotated: map[string]int{}, verified: map[string]int{}}
}

func (f *fakeRotator) add(path string, last time.Time) *fakeSecret {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeSecret{last: last, guards: []string{path}, value: secretValue}
	f.secrets[path] = s
	return s
}

func (f *fakeRotator) set(path string, fn func(*fakeSecret)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.secrets[path])
}

func (f *fakeRotator) rotations(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rotated[path]
}

func (f *fakeRotator) RotationTargets(context.Context, logical.Storage) ([]logical.RotationTarget, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []logical.RotationTarget
	for p, s := range f.secrets {
		out = append(out, logical.RotationTarget{Path: p, LastRotated: s.last, Tags: s.tags, Guards: s.guards, Verifiable: true})
	}
	return out, nil
}

func (f *fakeRotator) Rotate(_ context.Context, _ logical.Storage, path string) (logical.RotationResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[path]
	if s == nil {
		return logical.RotationResult{}, logical.ErrNotFound
	}
	if s.fail {
		return logical.RotationResult{}, errors.New("database unreachable")
	}
	f.rotated[path]++
	s.last, s.drift = time.Now(), false
	return logical.RotationResult{Version: fmt.Sprint(f.rotated[path] + 1), RotatedAt: s.last}, nil
}

func (f *fakeRotator) Verify(_ context.Context, _ logical.Storage, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified[path]++
	if f.secrets[path].drift {
		return fmt.Errorf("password no longer logs in: %w", logical.ErrDrift)
	}
	return nil
}

// harness is a scheduler over shared storage and one fake mount.
type harness struct {
	t       *testing.T
	st      storage.Backend
	fake    *fakeRotator
	s       *rotation.Scheduler
	mu      sync.Mutex
	actions []rotation.Action
	// now, when set, is the scheduler's clock.
	now func() time.Time
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, st: inmem.New(), fake: newFake()}
}

// start starts a scheduler (a new active node) over the harness's
// storage, stopped at cleanup.
func (h *harness) start(declared ...*rotation.Policy) *rotation.Scheduler {
	h.t.Helper()
	s, err := rotation.New(rotation.Config{
		Storage: h.st, Declared: declared,
		Mounts: func() []rotation.Mount {
			return []rotation.Mount{{Path: "secret/", Type: "kv", Rotator: h.fake, Storage: inmem.New()}}
		},
		Audit: func(_ context.Context, a rotation.Action, do func() (string, error)) error {
			h.mu.Lock()
			h.actions = append(h.actions, a)
			h.mu.Unlock()
			_, err := do()
			return err
		},
		Now:           h.now,
		CheckInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(s.Stop)
	h.s = s
	return s
}

func (h *harness) put(p *rotation.Policy) {
	h.t.Helper()
	if err := h.s.PutPolicy(context.Background(), p); err != nil {
		h.t.Fatalf("PutPolicy(%s): %v", p.Name, err)
	}
}

func (h *harness) audited(kind, path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.actions {
		if a.Kind == kind && a.Path == path {
			return true
		}
	}
	return false
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hook is a webhook receiver recording verified bodies.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	bodies []string
	bad    int
}

func newHook(t *testing.T, secret string, status int) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Header.Get(rotation.SignatureHeader) != rotation.Sign(secret, body) {
			h.bad++
		} else {
			var ev map[string]any
			_ = json.Unmarshal(body, &ev)
			h.events = append(h.events, ev)
			h.bodies = append(h.bodies, string(body))
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) got(event, path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.events {
		if ev["event"] == event && ev["path"] == path {
			return true
		}
	}
	return false
}
