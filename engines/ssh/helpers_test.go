package ssh_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/ssh"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// system is core's glue for an engine: fixed mount TTLs.
type system struct{ def, max time.Duration }

func (s system) GeneratePassword(context.Context, string) (string, error) {
	return "", errors.New("no password policies here")
}

func (s system) MountTTLs() (def, max time.Duration) { return s.def, s.max }

// harness is one ssh mount over an in-memory storage view.
type harness struct {
	t       testing.TB
	b       *ssh.Backend
	storage logical.Storage
}

// newHarness mounts an engine over fresh storage.
func newHarness(t testing.TB, opts ...ssh.Option) *harness {
	t.Helper()
	return mountOn(t, inmem.New(), nil, opts...)
}

// mountOn mounts an engine over s (another Backend over the same
// storage sees the same CA and roles).
func mountOn(t testing.TB, s logical.Storage, sys logical.SystemView, opts ...ssh.Option) *harness {
	t.Helper()
	conf := &logical.BackendConfig{MountPoint: "ssh/", Storage: s, System: sys}
	be, err := ssh.Factory(opts...)(context.Background(), conf)
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	return &harness{t: t, b: be.(*ssh.Backend), storage: s}
}

// do sends one request through HandleRequest.
func (h *harness) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	req := &logical.Request{
		Operation: op, Path: path, Data: data, Storage: h.storage,
		MountPoint: "ssh/", MountType: ssh.Type,
	}
	return h.b.HandleRequest(context.Background(), req)
}

// must sends a request that must succeed.
func (h *harness) must(op logical.Operation, path string, data map[string]any) *logical.Response {
	h.t.Helper()
	resp, err := h.do(op, path, data)
	if err != nil {
		h.t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

// configureCA generates a CA key of keyType and returns its public key.
func (h *harness) configureCA(keyType string) string {
	h.t.Helper()
	resp := h.must(logical.UpdateOperation, "config/ca", map[string]any{"generate_signing_key": true, "key_type": keyType})
	return resp.Data["public_key"].(string)
}

// wantInvalid fails unless err is a 400 naming field (and containing
// each of msgs).
func wantInvalid(t testing.TB, err error, field string, msgs ...string) {
	t.Helper()
	var inv *logical.InvalidRequestError
	if !errors.As(err, &inv) {
		t.Fatalf("error = %v, want a 400 naming %q", err, field)
	}
	if inv.Field != field {
		t.Fatalf("error %q names field %q, want %q", err, inv.Field, field)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Fatalf("error %q does not contain %q", err, m)
		}
	}
}

// run runs a command of this machine and returns its combined output.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// userKey makes a key pair with ssh-keygen and returns the paths of its
// private key and its public key's authorized_keys line.
func userKey(t testing.TB, dir, name, keyType string) (keyPath, pubLine string) {
	t.Helper()
	keyPath = filepath.Join(dir, name)
	run(t, "ssh-keygen", "-q", "-t", keyType, "-N", "", "-C", name, "-f", keyPath)
	pub, err := os.ReadFile(keyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return keyPath, string(pub)
}

// writeFile writes data to dir/name with mode and returns the path.
func writeFile(t testing.TB, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// sshWithClock is a fixed clock at t0.
func sshWithClock(t0 time.Time) ssh.Option {
	return ssh.WithClock(func() time.Time { return t0 })
}
