package userpass_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/internal/authtest"
	"github.com/secretumvault/secretumvault/engines/auth/userpass"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// fastParams keep tests quick; the defaults are exercised separately.
var fastParams = userpass.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// harness is one userpass mount over an inmem store, logs captured.
type harness struct {
	*authtest.Mount
	b    *userpass.Backend
	logs *authtest.LogBuffer
	opts map[string]string
}

func newHarness(t testing.TB, mountOpts map[string]string) *harness {
	t.Helper()
	return newHarnessOn(t, inmem.New(), authtest.NewClock(authtest.Start), mountOpts, fastParams)
}

func newHarnessOn(t testing.TB, phys *inmem.Backend, c *authtest.Clock, mountOpts map[string]string, p userpass.Argon2Params) *harness {
	t.Helper()
	h := &harness{logs: &authtest.LogBuffer{}, opts: mountOpts}
	h.Mount, h.b = authtest.NewMount(t, authtest.Setup{Type: userpass.Type, Options: mountOpts, Phys: phys, Clock: c, Remote: "127.0.0.1"},
		func(conf *logical.BackendConfig, c *authtest.Clock) (*userpass.Backend, error) {
			return userpass.New(context.Background(), conf, userpass.WithClock(c.Now), userpass.WithArgon2Params(p),
				userpass.WithLogger(h.logs.Logger()))
		})
	return h
}

// restart is a fresh backend over the same storage, with params p.
func (h *harness) restart(p userpass.Argon2Params) *harness {
	h.T.Helper()
	return newHarnessOn(h.T, h.Phys, h.Clock, h.opts, p)
}

func (h *harness) login(addr, user, password string) (*logical.Response, error) {
	return h.DoFrom(addr, logical.UpdateOperation, "login/"+user, map[string]any{"password": password})
}

// stored returns the raw stored entry of user name.
func (h *harness) stored(name string) string {
	h.T.Helper()
	e, err := h.Storage.Get(context.Background(), "user/"+name)
	if err != nil {
		h.T.Fatal(err)
	}
	if e == nil {
		return ""
	}
	return string(e.Value)
}

// dump returns every stored user entry as text.
func (h *harness) dump() string {
	h.T.Helper()
	var sb strings.Builder
	for _, k := range h.List("user/") {
		sb.WriteString(k + "=" + h.stored(k) + "\n")
	}
	return sb.String()
}
