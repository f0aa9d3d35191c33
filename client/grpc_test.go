package client_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/secretumvault/secretumvault/client"
)

// countingConn dials addr over plaintext HTTP/2 and counts the RPCs.
func countingConn(t *testing.T, addr string, n *atomic.Int64) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			n.Add(1)
			return invoker(ctx, method, req, reply, cc, opts...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

var fastRetry = client.WithRetry(client.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})

// TestGRPCSealedIsRetried: a sealed server answers 503 over gRPC too; the
// client retries it, then reports ErrUnavailable; a 403 is not retried.
func TestGRPCSealedIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	u, err := url.Parse(rs.URL)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	conn := countingConn(t, u.Host, &calls)
	c := rs.client(t, client.WithGRPCConn(conn), fastRetry)
	anon, err := client.New(noEnv, client.WithAddress(rs.URL), client.WithGRPCConn(conn), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	calls.Store(0)
	if _, err := anon.KV("secret").Get(ctx, "x"); !errors.Is(err, client.ErrPermissionDenied) || calls.Load() != 1 {
		t.Fatalf("403: %v after %d calls, want 1", err, calls.Load())
	}
	if err := c.Sys().Seal(ctx); err != nil {
		t.Fatal(err)
	}
	calls.Store(0)
	_, err = c.KV("secret").Get(ctx, "x")
	if !errors.Is(err, client.ErrUnavailable) || calls.Load() != 3 {
		t.Fatalf("sealed: %v after %d calls, want ErrUnavailable after 3", err, calls.Load())
	}
	if st, err := c.Sys().Unseal(ctx, rs.UnsealKey); err != nil || st.Sealed {
		t.Fatalf("unseal = %+v, %v", st, err)
	}
	// Close leaves a connection given with WithGRPCConn open.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.Sys().SealStatus(ctx); err != nil {
		t.Fatalf("the shared connection was closed: %v", err)
	}
}

// TestGRPCConnectionErrors: nothing listens; the calls are retried up to
// the bound and fail with a transport error, not a *ResponseError.
func TestGRPCConnectionErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	var calls atomic.Int64
	c, err := client.New(noEnv, client.WithAddress("http://"+addr), client.WithGRPCConn(countingConn(t, addr, &calls)), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var re *client.ResponseError
	if _, err := c.KV("secret").Get(ctx, "x"); err == nil || errors.As(err, &re) {
		t.Fatalf("err = %v, want a connection error", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", calls.Load())
	}
}

// TestGRPCOwnConnection: WithGRPC dials the address itself; Close closes
// that connection.
func TestGRPCOwnConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs := newRealServer(t)
	c, err := client.New(noEnv, client.WithAddress(rs.URL), client.WithToken(rs.Root), client.WithGRPC(), noRetry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV("secret").Put(ctx, "own", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KV("secret").Get(ctx, "own"); err == nil {
		t.Fatal("a closed client still answers")
	}
}
