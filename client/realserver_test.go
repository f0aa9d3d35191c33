package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
	"github.com/secretumvault/secretumvault/server/api"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// noRetry turns the client's retries off (tests of fake servers).
var noRetry = client.WithRetry(client.RetryPolicy{MaxAttempts: 1})

// noEnv ignores the process environment.
var noEnv = client.WithEnv(func(string) string { return "" })

// realServer is a real core over inmem storage behind the real API
// handler, on a loopback httptest server that speaks HTTP/1.1 and h2c:
// REST and gRPC on one listener, as the server serves them. It is
// initialised (one key share), unsealed, with KV v2 at secret/.
type realServer struct {
	URL, Root, UnsealKey string
	core                 *core.Core
	http                 *httptest.Server
	api                  *api.Server
	// grpcCalls and restCalls count the requests of each kind served.
	grpcCalls, restCalls atomic.Int64
}

// startRealServer starts one; stop it with close.
func startRealServer() (*realServer, error) {
	cfg := core.DefaultConfig()
	cfg.Physical = inmem.New()
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := core.New(cfg)
	if err != nil {
		return nil, err
	}
	s := api.New(c, api.Options{Logger: slog.New(slog.DiscardHandler)})
	rs := &realServer{core: c, api: s}
	h := s.Handler()
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			rs.grpcCalls.Add(1)
		} else {
			rs.restCalls.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	rs.URL, rs.http = hs.URL, hs
	if err := rs.bootstrap(); err != nil {
		rs.close()
		return nil, err
	}
	return rs, nil
}

// bootstrap initialises, unseals and mounts secret/ through the SDK.
func (rs *realServer) bootstrap() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sdk, err := client.New(noEnv, noRetry, client.WithAddress(rs.URL))
	if err != nil {
		return err
	}
	init, err := sdk.Sys().Init(ctx, &client.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	rs.Root, rs.UnsealKey = init.RootToken, init.Keys[0]
	if st, err := sdk.Sys().Unseal(ctx, rs.UnsealKey); err != nil || st.Sealed {
		return fmt.Errorf("unseal: %v, %v", st, err)
	}
	sdk.SetToken(rs.Root)
	return sdk.Sys().EnableMount(ctx, "secret", &client.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})
}

func (rs *realServer) close() {
	rs.http.Close()
	_ = rs.api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs.core.Shutdown(ctx)
}

// newRealServer starts a server for one test.
func newRealServer(t testing.TB) *realServer {
	t.Helper()
	rs, err := startRealServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.close)
	return rs
}

// client returns a root client of rs with opts.
func (rs *realServer) client(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	base := []client.Option{noEnv, client.WithAddress(rs.URL), client.WithToken(rs.Root)}
	c, err := client.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
