package pki_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/pki"
	"github.com/secretumvault/secretumvault/internal/testutil"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// clock is a settable time source (testutil.Clock).
type clock = testutil.Clock

// system gives fixed mount TTLs.
type system struct{ def, max time.Duration }

func (s system) GeneratePassword(context.Context, string) (string, error) {
	return "", errors.New("unused")
}
func (s system) MountTTLs() (def, max time.Duration) { return s.def, s.max }

// harness is one pki mount over an inmem store, seen through a view.
type harness struct {
	t     testing.TB
	b     *pki.Backend
	store logical.Storage
	clock *clock
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{
		t: t, store: storage.NewView(inmem.New(), "logical/pki-test/"),
		clock: testutil.NewClock(time.Now().UTC().Truncate(time.Second)),
	}
	b, err := pki.New(context.Background(), &logical.BackendConfig{
		MountPoint: "pki/", Storage: h.store, System: system{def: 24 * time.Hour, max: 10 * 365 * 24 * time.Hour},
	}, pki.WithClock(h.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	return h
}

func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	return h.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.store, MountPoint: "pki/", MountType: pki.Type,
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

func (h *harness) write(path string, data map[string]any) *logical.Response {
	h.t.Helper()
	return h.must(logical.UpdateOperation, path, data)
}

// str returns a string field of a response.
func str(t testing.TB, resp *logical.Response, key string) string {
	t.Helper()
	s, ok := resp.Data[key].(string)
	if !ok || s == "" {
		t.Fatalf("response has no %s: %v", key, resp.Data)
	}
	return s
}

// wantField fails unless err is a 400 naming field (and mentioning msg).
func wantField(t testing.TB, err error, field, msg string) {
	t.Helper()
	var ire *logical.InvalidRequestError
	if !errors.As(err, &ire) || ire.Field != field {
		t.Fatalf("err = %v, want an invalid request naming %q", err, field)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %q, want it to mention %q", err, msg)
	}
}

// parsePEM parses a PEM certificate.
func parsePEM(t testing.TB, text string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode([]byte(text))
	if blk == nil {
		t.Fatalf("no PEM in %q", text)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t testing.TB, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openssl runs the openssl binary and returns its combined output.
func openssl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required (apt-get install openssl; .ci/run installs it)")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

// chain is a root mount and an intermediate mount signed by it.
type chain struct {
	root, inter       *harness
	rootPEM, interPEM string
}

// newChain builds root → intermediate through the API, with a role
// "web" on the intermediate.
func newChain(t testing.TB, keyType string, bits int) *chain {
	t.Helper()
	c := &chain{root: newHarness(t), inter: newHarness(t)}
	resp := c.root.write("root/generate/internal", map[string]any{"common_name": "Test Root", "key_type": keyType, "key_bits": bits, "ttl": "87600h", "issuer_name": "root-1"})
	c.rootPEM = str(t, resp, "certificate")
	csr := str(t, c.inter.write("intermediate/generate/internal", map[string]any{"common_name": "Test Intermediate", "key_type": keyType, "key_bits": bits}), "csr")
	signed := c.root.write("root/sign-intermediate", map[string]any{"csr": csr, "common_name": "Test Intermediate", "ttl": "43800h"})
	c.interPEM = str(t, signed, "certificate")
	c.inter.write("intermediate/set-signed", map[string]any{"certificate": c.interPEM + "\n" + c.rootPEM})
	c.inter.write("config/urls", map[string]any{
		"issuing_certificates": []any{"http://pki.test/v1/pki/ca"}, "crl_distribution_points": []any{"http://pki.test/v1/pki/crl"},
		"ocsp_servers": []any{"http://pki.test/v1/pki/ocsp"},
	})
	c.inter.write("roles/web", map[string]any{"allowed_domains": []any{"example.com"}, "allow_subdomains": true, "key_type": keyType, "key_bits": bits, "max_ttl": "720h"})
	return c
}

func readAll(p string) ([]byte, error) { return os.ReadFile(p) }
