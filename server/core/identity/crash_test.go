package identity_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/identity"
	"github.com/secretumvault/secretumvault/storage"
)

var errCrash = errors.New("crash")

// crashing is a storage.Backend without transactions whose writes fail
// once budget writes have gone through (budget < 0: never).
type crashing struct {
	storage.Backend
	mu     sync.Mutex
	budget int
}

func (c *crashing) take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.budget < 0 {
		return true
	}
	if c.budget == 0 {
		return false
	}
	c.budget--
	return true
}

func (c *crashing) Put(ctx context.Context, e *storage.Entry) error {
	if !c.take() {
		return errCrash
	}
	return c.Backend.Put(ctx, e)
}

func (c *crashing) Delete(ctx context.Context, key string) error {
	if !c.take() {
		return errCrash
	}
	return c.Backend.Delete(ctx, key)
}

// TestCrashMidChange runs each multi-record change against storage that
// fails after k writes, for every k, and checks that the failed change
// left memory as it was and that a store loaded from what reached
// storage is consistent: every reference resolves.
func TestCrashMidChange(t *testing.T) {
	type world struct{ alice, bob, leaf, mid, top, ext, ext2 string }
	setup := func(h *harness) world {
		var w world
		w.alice = h.entity("alice", nil)
		w.bob = h.entity("bob", nil)
		w.leaf = h.group("leaf", map[string]any{"member_entity_ids": []any{w.alice, w.bob}})
		w.mid = h.group("mid", map[string]any{"member_group_ids": w.leaf, "member_entity_ids": w.alice})
		w.top = h.group("top", map[string]any{"member_group_ids": w.mid})
		h.login(loginAs("acc1", "alice-login", "ext"))
		h.write("entity-alias/id/"+aliasID(h, "acc1", "alice-login"), map[string]any{"canonical_id": w.alice})
		h.login(loginAs("acc1", "alice-login", "ext"))
		h.login(loginAs("acc2", "bob-login", "ext"))
		h.write("entity-alias/id/"+aliasID(h, "acc2", "bob-login"), map[string]any{"canonical_id": w.bob})
		h.login(loginAs("acc2", "bob-login", "ext"))
		w.ext = h.read("group/name/ext")["id"].(string)
		h.write("group-alias", map[string]any{"name": "e", "mount_accessor": "acc1", "canonical_id": w.ext})
		w.ext2 = h.group("ext2", map[string]any{"type": "external"})
		if n := len(strs(h.read("group/id/" + w.ext)["member_entity_ids"])); n != 2 {
			t.Fatalf("setup: ext has %d members, want 2", n)
		}
		return w
	}
	// clean changes are ordered so that no crash leaves anything for
	// loading to repair; a move may leave a duplicate, which it repairs.
	changes := []struct {
		name  string
		clean bool
		run   func(h *harness, w world) error
	}{
		{"delete entity in two groups", true, func(h *harness, w world) error {
			_, err := h.do(logical.DeleteOperation, "entity/id/"+w.alice, nil)
			return err
		}},
		{"delete middle group", true, func(h *harness, w world) error {
			_, err := h.do(logical.DeleteOperation, "group/id/"+w.mid, nil)
			return err
		}},
		{"delete external group with members", true, func(h *harness, w world) error {
			_, err := h.do(logical.DeleteOperation, "group/id/"+w.ext, nil)
			return err
		}},
		{"move alias", false, func(h *harness, w world) error {
			_, err := h.do(logical.UpdateOperation, "entity-alias/id/"+aliasID(h, "acc1", "alice-login"), map[string]any{"canonical_id": w.bob})
			return err
		}},
		{"move group alias", false, func(h *harness, w world) error {
			id := strs(h.must(logical.ListOperation, "group-alias/id", nil)["keys"])[0]
			_, err := h.do(logical.UpdateOperation, "group-alias/id/"+id, map[string]any{"name": "e", "mount_accessor": "acc1", "canonical_id": w.ext2})
			return err
		}},
		{"login creating groups", true, func(h *harness, _ world) error {
			_, err := h.s.Login(h.ctx, loginAs("acc1", "carol", "n1", "n2", "ext"))
			return err
		}},
	}
	for _, tc := range changes {
		for k := 0; ; k++ {
			done := false
			t.Run(fmt.Sprintf("%s/after %d writes", tc.name, k), func(t *testing.T) {
				h := newHarness(t)
				cr := &crashing{Backend: h.view, budget: -1}
				h.view = cr
				h.s = h.open()
				w := setup(h)
				before := snapshot(t, h.s)
				cr.mu.Lock()
				cr.budget = k
				cr.mu.Unlock()
				err := tc.run(h, w)
				if err == nil {
					done = true
					return
				}
				if !errors.Is(err, errCrash) {
					t.Fatalf("change failed with %v", err)
				}
				if after := snapshot(t, h.s); !reflect.DeepEqual(before, after) {
					t.Fatal("a failed change altered memory")
				}
				warnings := &countingHandler{}
				reloaded := identity.New(cr.Backend, identity.Options{Logger: slog.New(warnings)})
				if err := reloaded.Setup(h.ctx); err != nil {
					t.Fatalf("Setup after the crash: %v", err)
				}
				checkConsistent(t, reloaded)
				if n := warnings.count(); tc.clean && n > 0 {
					t.Fatalf("loading repaired %d references a well-ordered change should not leave", n)
				}
			})
			if done || k > 10 {
				break
			}
		}
	}
}

// countingHandler counts warnings.
type countingHandler struct {
	mu sync.Mutex
	n  int
}

func (c *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (c *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *countingHandler) WithGroup(string) slog.Handler            { return c }
func (c *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return nil
}

func (c *countingHandler) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// checkConsistent checks that every reference the API shows resolves.
func checkConsistent(t *testing.T, s *identity.Store) {
	t.Helper()
	snap := snapshot(t, s)
	exists := func(kind, id string) {
		if snap[kind+"/id/"+id] == nil {
			t.Errorf("dangling reference to %s %s", kind, id)
		}
	}
	keys := func(list string) []string { return strs(snap[list].(map[string]any)["keys"]) }
	for _, id := range keys("group/id") {
		g := snap["group/id/"+id].(map[string]any)
		for _, m := range strs(g["member_entity_ids"]) {
			exists("entity", m)
		}
		for _, f := range []string{"member_group_ids", "parent_group_ids"} {
			for _, m := range strs(g[f]) {
				exists("group", m)
			}
		}
	}
	seen := map[[2]string]bool{}
	for _, id := range keys("entity/id") {
		e := snap["entity/id/"+id].(map[string]any)
		for _, m := range strs(e["group_ids"]) {
			exists("group", m)
		}
		for _, a := range e["aliases"].([]any) {
			am := a.(map[string]any)
			k := [2]string{am["mount_accessor"].(string), am["name"].(string)}
			if seen[k] || am["canonical_id"] != id {
				t.Errorf("alias %v duplicated or misowned", k)
			}
			seen[k] = true
		}
		if p := snap["principal/"+id].([]any); p[1] != true {
			t.Errorf("no principal for %s", id)
		}
	}
}
