package ssh_test

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"os/user"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/ssh"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// testClock is a settable time source.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newClockHarness mounts an engine with a settable clock starting now
// and a mount maximum TTL of maxTTL.
func newClockHarness(t *testing.T, maxTTL time.Duration) (*harness, *testClock) {
	t.Helper()
	c := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	return mountOn(t, inmem.New(), system{def: time.Hour, max: maxTTL}, ssh.WithClock(c.Now)), c
}

// published is the public_key file, one key per line.
func (h *harness) published() []string {
	h.t.Helper()
	bin := h.must(logical.ReadOperation, "public_key", nil).Binary
	if bin == nil || !strings.HasSuffix(string(bin.Data), "\n") {
		h.t.Fatalf("public_key = %+v", bin)
	}
	lines := strings.Split(strings.TrimSuffix(string(bin.Data), "\n"), "\n")
	if got := h.must(logical.ReadOperation, "config/ca", nil).Data["public_key"]; got != strings.Join(lines, "\n") {
		h.t.Fatalf("config/ca public_key %q, public_key file %q", got, lines)
	}
	return lines
}

// rotate rotates config/ca and checks the result names the new key.
func (h *harness) rotate() logical.RotationResult {
	h.t.Helper()
	res, err := h.b.Rotate(h.t.Context(), h.storage, "config/ca")
	if err != nil {
		h.t.Fatal(err)
	}
	cur := h.published()[0]
	k, _, _, _, err := xssh.ParseAuthorizedKey([]byte(cur))
	if err != nil || res.Version != xssh.FingerprintSHA256(k) {
		h.t.Fatalf("Version %q, current key %q (%v)", res.Version, cur, err)
	}
	return res
}

// storedPrivateKey is the stored CA private key.
func (h *harness) storedPrivateKey() string {
	h.t.Helper()
	e, err := h.storage.Get(h.t.Context(), "config/ca")
	if err != nil || e == nil {
		h.t.Fatalf("config/ca entry: %v", err)
	}
	var v struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(e.Value, &v); err != nil || v.PrivateKey == "" {
		h.t.Fatalf("config/ca entry: %v", err)
	}
	return v.PrivateKey
}

// storedPrevious counts the replaced keys kept in storage.
func (h *harness) storedPrevious() int {
	h.t.Helper()
	e, err := h.storage.Get(h.t.Context(), "config/ca")
	if err != nil || e == nil {
		h.t.Fatalf("config/ca entry: %v", err)
	}
	var v struct {
		Previous []json.RawMessage `json:"previous"`
	}
	if err := json.Unmarshal(e.Value, &v); err != nil {
		h.t.Fatal(err)
	}
	return len(v.Previous)
}

func TestRotationTargetsSSH(t *testing.T) {
	h, c := newClockHarness(t, 24*time.Hour)
	if targets, err := h.b.RotationTargets(t.Context(), h.storage); err != nil || len(targets) != 0 {
		t.Fatalf("unconfigured mount targets = %+v, %v", targets, err)
	}
	if _, err := h.b.Rotate(t.Context(), h.storage, "config/ca"); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("Rotate unconfigured = %v, want not found", err)
	}
	created := c.Now()
	h.configureCA("ed25519")
	for _, r := range []string{"a", "b"} {
		h.must(logical.UpdateOperation, "roles/"+r, map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u"})
	}
	targets, err := h.b.RotationTargets(t.Context(), h.storage)
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets = %+v, %v", targets, err)
	}
	got := targets[0]
	slices.Sort(got.Guards)
	if got.Path != "config/ca" || !got.LastRotated.Equal(created) || got.Verifiable ||
		!slices.Equal(got.Guards, []string{"issue/a", "issue/b", "sign/a", "sign/b"}) {
		t.Fatalf("target = %+v", got)
	}
	c.Advance(time.Hour)
	res := h.rotate()
	if !res.RotatedAt.Equal(c.Now()) {
		t.Fatalf("RotatedAt = %v, want %v", res.RotatedAt, c.Now())
	}
	targets, _ = h.b.RotationTargets(t.Context(), h.storage)
	if len(targets) != 1 || !targets[0].LastRotated.Equal(c.Now()) {
		t.Fatalf("targets after rotation = %+v", targets)
	}
	for _, p := range []string{"config/ca/rotate", "public_key", "", "config"} {
		if _, err := h.b.Rotate(t.Context(), h.storage, p); !errors.Is(err, logical.ErrNotFound) {
			t.Errorf("Rotate(%q) = %v, want not found", p, err)
		}
	}
	if err := h.b.Verify(t.Context(), h.storage, "config/ca"); !errors.Is(err, logical.ErrUnsupportedOperation) {
		t.Fatalf("Verify = %v", err)
	}
}

func TestRotateKeepsKeyType(t *testing.T) {
	for _, tc := range []struct {
		keyType string
		bits    int
		sshType string
	}{{"rsa", 2048, xssh.KeyAlgoRSA}, {"ecdsa", 384, xssh.KeyAlgoECDSA384}, {"ed25519", 0, xssh.KeyAlgoED25519}} {
		t.Run(tc.keyType, func(t *testing.T) {
			h, _ := newClockHarness(t, 24*time.Hour)
			old := h.must(logical.UpdateOperation, "config/ca", map[string]any{"key_type": tc.keyType, "key_bits": tc.bits}).Data["public_key"].(string)
			oldPriv := middleLine(h.storedPrivateKey())
			h.rotate()
			// The replaced private key is gone: only its public key stays.
			if e, _ := h.storage.Get(t.Context(), "config/ca"); e == nil || strings.Contains(string(e.Value), oldPriv) {
				t.Fatal("the replaced CA private key is still stored")
			}
			keys := h.published()
			if len(keys) != 2 || keys[1] != old || keys[0] == old {
				t.Fatalf("published %q, want [new, %q]", keys, old)
			}
			k, _, _, _, err := xssh.ParseAuthorizedKey([]byte(keys[0]))
			if err != nil || k.Type() != tc.sshType {
				t.Fatalf("new key %q: %v", keys[0], err)
			}
			if rk, ok := k.(xssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() != tc.bits {
				t.Fatalf("new rsa key has %d bits, want %d", rk.N.BitLen(), tc.bits)
			}
		})
	}
}

// TestReplacedKeyExpiry: a replaced key is published until the longest
// role max_ttl (capped by the mount's maximum) has passed since the
// rotation, then left out of reads and dropped from storage by Periodic.
func TestReplacedKeyExpiry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		roles  []string // max_ttl of each role ("" for none)
		expiry time.Duration
	}{
		{"longest role max_ttl", []string{"2h", "3h"}, 3 * time.Hour},
		{"capped by the mount maximum", []string{"2h", "30h"}, 24 * time.Hour},
		{"role without max_ttl", []string{"2h", ""}, 24 * time.Hour},
		{"no roles", nil, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := newClockHarness(t, 24*time.Hour)
			h.configureCA("ed25519")
			for i, m := range tc.roles {
				role := map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "u"}
				if m != "" {
					role["max_ttl"] = m
				}
				h.must(logical.UpdateOperation, "roles/r"+string(rune('a'+i)), role)
			}
			old := h.published()[0]
			h.rotate()
			c.Advance(tc.expiry - time.Second)
			if err := h.b.Periodic(t.Context()); err != nil {
				t.Fatal(err)
			}
			if keys := h.published(); len(keys) != 2 || keys[1] != old || h.storedPrevious() != 1 {
				t.Fatalf("a second before expiry: published %q, stored %d", keys, h.storedPrevious())
			}
			c.Advance(time.Second)
			if keys := h.published(); len(keys) != 1 || keys[0] == old {
				t.Fatalf("at expiry: published %q, want the new key alone", keys)
			}
			if err := h.b.Periodic(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := h.storedPrevious(); n != 0 {
				t.Fatalf("Periodic left %d replaced keys in storage", n)
			}
		})
	}
}

// TestRotateTwice: each replaced key keeps its own expiry; the list is
// newest first; a node that restarts (Cleanup) still drops them.
func TestRotateTwice(t *testing.T) {
	h, c := newClockHarness(t, 24*time.Hour)
	k1 := h.configureCA("ed25519")
	h.rotate()
	k2 := h.published()[0]
	c.Advance(10 * time.Hour)
	h.rotate()
	k3 := h.published()[0]
	if keys := h.published(); !slices.Equal(keys, []string{k3, k2, k1}) {
		t.Fatalf("published %q, want [k3 k2 k1]", keys)
	}
	h.b.Cleanup(t.Context())
	c.Advance(14 * time.Hour) // k1 expires (24h after the first rotation)
	if err := h.b.Periodic(t.Context()); err != nil {
		t.Fatal(err)
	}
	if keys := h.published(); !slices.Equal(keys, []string{k3, k2}) || h.storedPrevious() != 1 {
		t.Fatalf("published %q (stored %d), want [k3 k2]", keys, h.storedPrevious())
	}
	c.Advance(10 * time.Hour)
	if err := h.b.Periodic(t.Context()); err != nil {
		t.Fatal(err)
	}
	if keys := h.published(); !slices.Equal(keys, []string{k3}) || h.storedPrevious() != 0 {
		t.Fatalf("published %q (stored %d), want [k3]", keys, h.storedPrevious())
	}
	// Deleting and reconfiguring starts afresh.
	h.must(logical.DeleteOperation, "config/ca", nil)
	if k := h.configureCA("ed25519"); !slices.Equal(h.published(), []string{k}) {
		t.Fatalf("after reconfiguration: %q", h.published())
	}
}

// TestSSHDAcceptsCertificatesAcrossRotation: sshd trusting the published
// public_key file after a rotation accepts a certificate signed before
// it and one signed after; once the replaced key has expired, the file
// holds the new key alone and an sshd trusting it refuses the old
// key's certificate.
func TestSSHDAcceptsCertificatesAcrossRotation(t *testing.T) {
	h, c := newClockHarness(t, 24*time.Hour)
	h.configureCA("ecdsa")
	dir := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	u := me.Username
	h.must(logical.UpdateOperation, "roles/login", map[string]any{
		"key_type": "ca", "allow_user_certificates": true, "allowed_users": u, "default_user": u, "max_ttl": "1h",
	})
	key, pub := userKey(t, dir, "user", "ed25519")
	before, beforeSerial := signSerial(t, h, "login", key, pub, map[string]any{"ttl": "30m"})
	beforeCopy := writeFile(t, dir, "before-cert.pub", readFile(t, before), 0o644)

	h.rotate()
	file := h.must(logical.ReadOperation, "public_key", nil).Binary.Data
	if n := strings.Count(string(file), "\n"); n != 2 {
		t.Fatalf("public_key file has %d lines after rotation, want 2:\n%s", n, file)
	}
	after, afterSerial := signSerial(t, h, "login", key, pub, map[string]any{"ttl": "30m"})
	afterCert := parseCert(t, readFile(t, after))
	if got := string(xssh.MarshalAuthorizedKey(afterCert.SignatureKey)); strings.TrimSpace(got) != h.published()[0] {
		t.Fatal("the certificate signed after the rotation is not signed by the new key")
	}

	s := startSSHD(t, strings.TrimSuffix(string(file), "\n"))
	for _, tc := range []struct{ name, cert, serial string }{
		{"signed before the rotation", beforeCopy, beforeSerial},
		{"signed after the rotation", after, afterSerial},
	} {
		if code := s.login(t, s.user, key, tc.cert); code != 0 || !strings.Contains(s.logText(t), "(serial "+tc.serial+") signed by") {
			t.Fatalf("%s: login refused (exit %d)", tc.name, code)
		}
	}

	c.Advance(time.Hour)
	if err := h.b.Periodic(t.Context()); err != nil {
		t.Fatal(err)
	}
	file = h.must(logical.ReadOperation, "public_key", nil).Binary.Data
	if keys := h.published(); len(keys) != 1 || string(file) != keys[0]+"\n" {
		t.Fatalf("after the replaced key's expiry: %q", file)
	}
	s2 := startSSHD(t, strings.TrimSuffix(string(file), "\n"))
	if code := s2.login(t, s2.user, key, beforeCopy); code != 255 || strings.Contains(s2.logText(t), "(serial "+beforeSerial+") signed by") {
		t.Fatalf("old key's certificate: ssh exit %d, want 255 (refused)", code)
	}
	if code := s2.login(t, s2.user, key, after); code != 0 {
		t.Fatalf("new key's certificate: login refused (exit %d)", code)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
