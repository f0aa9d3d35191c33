package transit_test

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func (h *harness) latest(name string) int {
	h.t.Helper()
	return h.must(logical.ReadOperation, "keys/"+name, nil).Data["latest_version"].(int)
}

func (h *harness) periodic() {
	h.t.Helper()
	if err := h.b.Periodic(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

func TestAutoRotation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/auto", map[string]any{"auto_rotate_period": "1h"})
	h.write("keys/manual", nil)
	h.periodic()
	if h.latest("auto") != 1 {
		t.Fatal("rotated before its period")
	}
	h.clock.Advance(time.Hour - time.Second)
	h.periodic()
	if h.latest("auto") != 1 {
		t.Fatal("rotated before its period")
	}
	h.clock.Advance(2 * time.Second)
	h.periodic()
	if h.latest("auto") != 2 || h.latest("manual") != 1 {
		t.Fatalf("after the period: auto v%d manual v%d", h.latest("auto"), h.latest("manual"))
	}
	if ev := h.rec.list(); !slices.Equal(ev, []string{"rotate transit/keys/auto/rotate"}) {
		t.Fatalf("events = %v", ev)
	}
	// The period counts from the latest version: a manual rotation
	// postpones the next one.
	h.clock.Advance(30 * time.Minute)
	h.write("keys/auto/rotate", nil)
	h.clock.Advance(45 * time.Minute)
	h.periodic()
	if h.latest("auto") != 3 {
		t.Fatalf("latest = %d, want 3 (no auto-rotation yet)", h.latest("auto"))
	}
	// A manual key configured to auto-rotate joins the schedule.
	h.write("keys/manual/config", map[string]any{"auto_rotate_period": "1h"})
	h.clock.Advance(time.Hour)
	h.periodic()
	if h.latest("auto") != 4 || h.latest("manual") != 2 {
		t.Fatalf("auto v%d manual v%d", h.latest("auto"), h.latest("manual"))
	}
	// Disabling stops it.
	h.write("keys/auto/config", map[string]any{"auto_rotate_period": 0})
	h.clock.Advance(3 * time.Hour)
	h.periodic()
	if h.latest("auto") != 4 || h.latest("manual") != 3 {
		t.Fatalf("auto v%d manual v%d", h.latest("auto"), h.latest("manual"))
	}
	if got := strings.Count(h.logs.String(), "transit: key auto-rotated"); got != 4 {
		t.Fatalf("%d rotations logged: %s", got, h.logs)
	}
}

// A new active node's instance learns the schedule from storage.
func TestAutoRotationAfterFailover(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/auto", map[string]any{"auto_rotate_period": "24h"})
	ct := h.encrypt("auto", secret, nil)
	h.b.Cleanup(t.Context())
	h.b = h.mount()
	h.clock.Advance(25 * time.Hour)
	h.periodic()
	if h.latest("auto") != 2 {
		t.Fatalf("latest = %d after failover", h.latest("auto"))
	}
	if got := h.decrypt("auto", ct, nil); !bytes.Equal(got, secret) {
		t.Fatal("old ciphertext lost across failover")
	}
}

// Encryptions and decryptions racing rotations and config changes
// always succeed (run with -race).
func TestConcurrentUseWhileRotating(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/k", nil)
	ct0 := h.encrypt("k", secret, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				resp, err := h.do(logical.UpdateOperation, "encrypt/k", map[string]any{"plaintext": b64(secret)})
				if err != nil {
					errs <- err
					return
				}
				for _, ct := range []any{resp.Data["ciphertext"], ct0} {
					if _, err := h.do(logical.UpdateOperation, "decrypt/k", map[string]any{"ciphertext": ct}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := h.do(logical.UpdateOperation, "keys/k/rotate", nil); err != nil {
				errs <- err
				return
			}
			if _, err := h.do(logical.UpdateOperation, "keys/k/config", map[string]any{"deletion_allowed": true}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if h.latest("k") != 21 {
		t.Fatalf("latest = %d", h.latest("k"))
	}
}
