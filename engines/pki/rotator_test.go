package pki_test

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/pki"
)

// verifyAt runs openssl verify of leaf against the roots, at the
// harness clock's time.
func verifyAt(t *testing.T, h *harness, leaf string, roots ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	return openssl(t, "verify", "-attime", strconv.FormatInt(h.clock.Now().Unix(), 10),
		"-CAfile", writeFile(t, dir, "roots.pem", []byte(strings.Join(roots, "\n")+"\n")),
		writeFile(t, dir, "leaf.pem", []byte(leaf+"\n")))
}

func TestRotationTargetsPKI(t *testing.T) {
	c := newChain(t, "ec", 256)
	c.root.write("roles/web", map[string]any{"allowed_domains": []any{"example.com"}, "allow_subdomains": true})
	c.root.write("roles/other", map[string]any{"issuer_ref": "some-other-issuer"})
	targets, err := c.root.b.RotationTargets(t.Context(), c.root.store)
	if err != nil || len(targets) != 1 {
		t.Fatalf("root mount targets = %+v, %v", targets, err)
	}
	got := targets[0]
	if got.Path != "issuer/default" || got.Verifiable || !got.LastRotated.Equal(parsePEM(t, c.rootPEM).NotBefore) {
		t.Fatalf("target = %+v", got)
	}
	for _, g := range []string{"issue/web", "sign/web", "sign-verbatim", "root/sign-intermediate"} {
		if !slices.Contains(got.Guards, g) {
			t.Errorf("guards %v lack %s", got.Guards, g)
		}
	}
	if slices.Contains(got.Guards, "issue/other") {
		t.Errorf("guards %v hold a role of another issuer", got.Guards)
	}
	// An intermediate (signed elsewhere) and an empty mount have none.
	for name, h := range map[string]*harness{"intermediate": c.inter, "empty": newHarness(t)} {
		targets, err := h.b.RotationTargets(t.Context(), h.store)
		if err != nil || len(targets) != 0 {
			t.Errorf("%s mount targets = %+v, %v", name, targets, err)
		}
		if _, err := h.b.Rotate(t.Context(), h.store, "issuer/default"); !errors.Is(err, logical.ErrNotFound) {
			t.Errorf("%s mount Rotate = %v, want not found", name, err)
		}
	}
}

func TestRotatorRotatePKI(t *testing.T) {
	for _, tc := range []struct {
		name, keyType string
		bits          int
	}{{"rsa", "rsa", 2048}, {"ec-p384", "ec", 384}, {"ed25519", "ed25519", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			gen := h.write("root/generate/internal", map[string]any{
				"common_name": "Rotated Root", "organization": "Example", "country": "FR",
				"key_type": tc.keyType, "key_bits": tc.bits, "ttl": "8760h", "issuer_name": "root-1",
			})
			oldPEM, oldID := str(t, gen, "certificate"), str(t, gen, "issuer_id")
			h.write("roles/web", map[string]any{"allowed_domains": []any{"example.com"}, "allow_subdomains": true, "max_ttl": "720h"})
			before := str(t, h.write("issue/web", map[string]any{"common_name": "a.example.com", "ttl": "720h"}), "certificate")

			// Little enough for openssl ocsp's 5-minute leeway on the
			// responder's times.
			h.clock.Advance(2 * time.Minute)
			res, err := h.b.Rotate(t.Context(), h.store, "issuer/default")
			if err != nil {
				t.Fatal(err)
			}
			if res.Version == "" || res.Version == oldID || !res.RotatedAt.Equal(h.clock.Now()) {
				t.Fatalf("result = %+v (old issuer %s)", res, oldID)
			}
			cfg := h.must(logical.ReadOperation, "config/issuers", nil)
			if cfg.Data["default"] != res.Version {
				t.Fatalf("default issuer = %v, want %s", cfg.Data["default"], res.Version)
			}
			newPEM := str(t, h.must(logical.ReadOperation, "issuer/default/json", nil), "certificate")
			oldC, newC := parsePEM(t, oldPEM), parsePEM(t, newPEM)
			if !bytes.Equal(oldC.RawSubject, newC.RawSubject) || bytes.Equal(oldC.RawSubjectPublicKeyInfo, newC.RawSubjectPublicKeyInfo) ||
				oldC.PublicKeyAlgorithm != newC.PublicKeyAlgorithm || newC.NotAfter.Sub(newC.NotBefore) != oldC.NotAfter.Sub(oldC.NotBefore) {
				t.Fatalf("new root: subject %s key %v validity %v; old: %s %v %v", newC.Subject, newC.PublicKeyAlgorithm,
					newC.NotAfter.Sub(newC.NotBefore), oldC.Subject, oldC.PublicKeyAlgorithm, oldC.NotAfter.Sub(oldC.NotBefore))
			}
			// The old issuer stays, by id and by name.
			if str(t, h.must(logical.ReadOperation, "issuer/root-1/json", nil), "certificate") != oldPEM {
				t.Fatal("old issuer gone")
			}
			after := h.write("issue/web", map[string]any{"common_name": "b.example.com", "ttl": "24h"})
			if str(t, after, "issuing_ca") != newPEM {
				t.Fatal("new leaf not issued by the new default issuer")
			}
			afterPEM := str(t, after, "certificate")
			for _, v := range []struct {
				what, leaf string
				roots      []string
				ok         bool
			}{
				{"old leaf, old root", before, []string{oldPEM}, true},
				{"new leaf, new root", afterPEM, []string{newPEM}, true},
				{"old leaf, both roots", before, []string{newPEM, oldPEM}, true},
				{"new leaf, both roots", afterPEM, []string{oldPEM, newPEM}, true},
				{"new leaf, old root", afterPEM, []string{oldPEM}, false},
			} {
				out, err := verifyAt(t, h, v.leaf, v.roots...)
				if ok := err == nil && strings.Contains(out, ": OK"); ok != v.ok {
					t.Errorf("%s: openssl verify ok=%v, want %v\n%s", v.what, ok, v.ok, out)
				}
			}
			targets, err := h.b.RotationTargets(t.Context(), h.store)
			if err != nil || len(targets) != 1 || !targets[0].LastRotated.Equal(newC.NotBefore) {
				t.Fatalf("targets after rotation = %+v, %v", targets, err)
			}
			// The old issuer still revokes what it signed, and answers
			// OCSP for it (same subject as the new root: the key hash
			// tells them apart).
			h.write("revoke", map[string]any{"certificate": before})
			if tc.keyType == "ed25519" {
				return // x/crypto/ocsp cannot sign with ed25519 (a limitation of the responder)
			}
			dir := t.TempDir()
			oldF, leafF := writeFile(t, dir, "old.pem", []byte(oldPEM)), writeFile(t, dir, "before.pem", []byte(before))
			srv := ocspServer(t, h)
			out, err := openssl(t, "ocsp", "-issuer", oldF, "-cert", leafF, "-CAfile", oldF, "-url", srv.URL+"/v1/pki/ocsp", "-no_nonce")
			if err != nil || !strings.Contains(out, "Response verify OK") || !strings.Contains(out, leafF+": revoked") {
				t.Fatalf("openssl ocsp of the old leaf: %v\n%s", err, out)
			}
		})
	}
}

func TestRotatorErrorsPKI(t *testing.T) {
	h := newHarness(t)
	h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec"})
	for _, path := range []string{"issuer/root", "issuer/default/rotate", "root/rotate/internal", ""} {
		if _, err := h.b.Rotate(t.Context(), h.store, path); !errors.Is(err, logical.ErrNotFound) {
			t.Errorf("Rotate(%q) = %v, want not found", path, err)
		}
	}
	if list := h.must(logical.ListOperation, "issuers", nil).Data["keys"].([]string); len(list) != 1 {
		t.Fatalf("issuers after failed rotations = %v", list)
	}
	if err := h.b.Verify(t.Context(), h.store, "issuer/default"); !errors.Is(err, logical.ErrUnsupportedOperation) {
		t.Fatalf("Verify = %v", err)
	}
}

// TestConcurrentRotations: rotations racing each other each either
// replace the default they read or fail with ErrDefaultChanged, writing
// nothing.
func TestConcurrentRotations(t *testing.T) {
	h := newHarness(t)
	h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": "ec"})
	const n = 4
	var (
		wg      sync.WaitGroup
		results [n]logical.RotationResult
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = h.b.Rotate(t.Context(), h.store, "issuer/default") })
	}
	wg.Wait()
	var won []string
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, results[i].Version)
		case !errors.Is(err, pki.ErrDefaultChanged):
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	issuers := h.must(logical.ListOperation, "issuers", nil).Data["keys"].([]string)
	if len(won) == 0 || len(issuers) != 1+len(won) {
		t.Fatalf("%d rotations won, %d issuers", len(won), len(issuers))
	}
	if def := h.must(logical.ReadOperation, "config/issuers", nil).Data["default"]; !slices.Contains(won, def.(string)) {
		t.Fatalf("default %v is none of the rotations' %v", def, won)
	}
}
