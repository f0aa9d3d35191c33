package transit_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestRotationTargets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created := h.clock.Now()
	h.write("keys/app", nil)
	h.clock.Advance(time.Hour)
	h.write("keys/sig", map[string]any{"type": "ed25519"})
	h.clock.Advance(time.Hour)
	h.write("keys/sig/rotate", nil)

	targets, err := h.b.RotationTargets(t.Context(), h.store)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(targets, func(a, b logical.RotationTarget) int { return strings.Compare(a.Path, b.Path) })
	want := []struct {
		path string
		at   time.Time
	}{{"keys/app", created}, {"keys/sig", created.Add(2 * time.Hour)}}
	if len(targets) != len(want) {
		t.Fatalf("targets = %+v", targets)
	}
	for i, w := range want {
		got := targets[i]
		if got.Path != w.path || !got.LastRotated.Equal(w.at) || got.Verifiable || got.Tags != nil {
			t.Errorf("target %d = %+v, want %s at %v", i, got, w.path, w.at)
		}
		name := strings.TrimPrefix(w.path, "keys/")
		for _, g := range []string{"encrypt/", "decrypt/", "rewrap/", "datakey/plaintext/", "datakey/wrapped/", "sign/", "verify/", "hmac/", "export/encryption-key/", "export/signing-key/", "export/hmac-key/"} {
			if !slices.Contains(got.Guards, g+name) {
				t.Errorf("%s: guards %v lack %s", w.path, got.Guards, g+name)
			}
		}
	}
}

func TestRotatorRotate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/app", nil)
	old := h.encrypt("app", []byte("before"), nil)
	if !strings.HasPrefix(old, "vault:v1:") {
		t.Fatalf("ciphertext %q", old)
	}
	h.clock.Advance(time.Minute)
	res, err := h.b.Rotate(t.Context(), h.store, "keys/app")
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "2" || !res.RotatedAt.Equal(h.clock.Now()) {
		t.Fatalf("result = %+v", res)
	}
	// The cached key was replaced: encrypt uses v2 at once.
	ct := h.encrypt("app", []byte("after"), nil)
	if !strings.HasPrefix(ct, "vault:v2:") {
		t.Fatalf("ciphertext after rotation %q", ct)
	}
	if got := h.decrypt("app", old, nil); !bytes.Equal(got, []byte("before")) {
		t.Fatalf("old ciphertext decrypts to %q", got)
	}
	if h.latest("app") != 2 {
		t.Fatal("keys/app does not show version 2")
	}
	// Another node (no cache) sees the stored rotation, and its age.
	h.b = h.mount()
	targets, err := h.b.RotationTargets(t.Context(), h.store)
	if err != nil || len(targets) != 1 || !targets[0].LastRotated.Equal(res.RotatedAt) {
		t.Fatalf("targets = %+v, %v", targets, err)
	}
	if got := h.decrypt("app", ct, nil); !bytes.Equal(got, []byte("after")) {
		t.Fatalf("new ciphertext decrypts to %q", got)
	}
}

func TestRotatorErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.write("keys/app", nil)
	for _, path := range []string{"keys/missing", "keys/", "keys/app/rotate", "encrypt/app", ""} {
		if _, err := h.b.Rotate(t.Context(), h.store, path); !errors.Is(err, logical.ErrNotFound) {
			t.Errorf("Rotate(%q) = %v, want not found", path, err)
		}
	}
	if h.latest("app") != 1 {
		t.Fatal("a failed rotation changed the key")
	}
	if err := h.b.Verify(t.Context(), h.store, "keys/app"); !errors.Is(err, logical.ErrUnsupportedOperation) {
		t.Fatalf("Verify = %v", err)
	}
}
