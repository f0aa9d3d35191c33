package database_test

import (
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// TestConnectionLifecycleUnderLoad races credential reads against
// config rewrites, resets, rotate-root, Periodic and Cleanup (run it
// with -race), then checks that every connection opened was closed: no
// pool leaks when one is replaced while in use.
func TestConnectionLifecycleUnderLoad(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-initial-1")
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
	h.must(logical.UpdateOperation, "static-roles/s", map[string]any{"db_name": "db", "username": "app", "rotation_period": "5s"})
	var wg sync.WaitGroup
	errs := make(chan error, 256)
	// No request may fail: one that uses a connection holds it against
	// being closed or rotated under it.
	report := func(err error) {
		if err != nil {
			errs <- err
		}
	}
	for range 4 {
		wg.Go(func() {
			for range 25 {
				_, err := h.do(logical.ReadOperation, "creds/r", nil)
				report(err)
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			_, err := h.do(logical.UpdateOperation, "config/db", map[string]any{"max_open_connections": 2})
			report(err)
			_, err = h.do(logical.UpdateOperation, "reset/db", nil)
			report(err)
		}
	})
	wg.Go(func() {
		for range 5 {
			_, err := h.do(logical.UpdateOperation, "rotate-root/db", nil)
			report(err)
			h.b.Cleanup(h.ctx())
		}
	})
	wg.Go(func() {
		for range 10 {
			h.clock.Advance(5e9)
			report(h.b.Periodic(h.ctx()))
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Everything still works, and after Cleanup nothing is open.
	h.creds("r")
	h.b.Cleanup(h.ctx())
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.opens != srv.closes {
		t.Fatalf("%d connections opened, %d closed", srv.opens, srv.closes)
	}
}
