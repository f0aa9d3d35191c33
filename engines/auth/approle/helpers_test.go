package approle_test

import (
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/approle"
	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// harness is one approle mount over an inmem store, seen through a view
// as core mounts it, with its logs captured.
type harness struct {
	*authtest.Mount
	b    *approle.Backend
	logs *authtest.LogBuffer
	opts map[string]string
}

func newHarness(t testing.TB, mountOpts map[string]string) *harness {
	t.Helper()
	return newHarnessOn(t, inmem.New(), authtest.NewClock(authtest.Start), mountOpts)
}

// newHarnessOn builds a fresh backend over an existing store (a restart).
func newHarnessOn(t testing.TB, phys *inmem.Backend, c *authtest.Clock, mountOpts map[string]string) *harness {
	t.Helper()
	h := &harness{logs: &authtest.LogBuffer{}, opts: mountOpts}
	h.Mount, h.b = authtest.NewMount(t, authtest.Setup{Type: approle.Type, Options: mountOpts, Phys: phys, Clock: c, Remote: "127.0.0.1"},
		func(conf *logical.BackendConfig, c *authtest.Clock) (*approle.Backend, error) {
			return approle.New(context.Background(), conf, approle.WithClock(c.Now), approle.WithLogger(h.logs.Logger()))
		})
	return h
}

func (h *harness) restart() *harness {
	h.T.Helper()
	return newHarnessOn(h.T, h.Phys, h.Clock, h.opts)
}

// role creates role name with data and returns its role_id.
func (h *harness) role(name string, data map[string]any) string {
	h.T.Helper()
	h.Must(logical.CreateOperation, "role/"+name, data)
	return h.Must(logical.ReadOperation, "role/"+name+"/role-id", nil).Data["role_id"].(string)
}

// secretID generates a secret id for role name and returns it and its
// accessor.
func (h *harness) secretID(name string, data map[string]any) (string, string) {
	h.T.Helper()
	resp := h.Must(logical.UpdateOperation, "role/"+name+"/secret-id", data)
	return resp.Data["secret_id"].(string), resp.Data["secret_id_accessor"].(string)
}

func (h *harness) login(addr, roleID, secretID string) (*logical.Response, error) {
	data := map[string]any{"role_id": roleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	return h.DoFrom(addr, logical.UpdateOperation, "login", data)
}
