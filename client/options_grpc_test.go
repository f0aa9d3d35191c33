package client_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

func TestNewOptionsOfThisRelease(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name    string
		opts    []client.Option
		wantErr error // nil: New succeeds
	}{
		{"grpc over plaintext", []client.Option{client.WithAddress("http://127.0.0.1:8200"), client.WithGRPC()}, nil},
		{"grpc over TLS", []client.Option{client.WithAddress("https://vault.example:8200"), client.WithGRPC()}, nil},
		{"grpc without a port", []client.Option{client.WithAddress("https://vault.example"), client.WithGRPC()}, nil},
		{"grpc with the TLS of an HTTP client", []client.Option{client.WithAddress("https://vault.example:8200"),
			client.WithHTTPClient(&http.Client{}), client.WithGRPC()}, nil},
		{"grpc with a CA that does not load", []client.Option{client.WithAddress("https://vault.example:8200"),
			client.WithCACert(missing), client.WithGRPC()}, errAny},
		{"cache", []client.Option{client.WithKVCache(time.Minute)}, nil},
		{"negative cache TTL", []client.Option{client.WithKVCache(-time.Second)}, client.ErrInvalidArgument},
		{"retry", []client.Option{client.WithRetry(client.RetryPolicy{MaxAttempts: 2, MaxBackoff: time.Second})}, nil},
		{"retry without attempts", []client.Option{client.WithRetry(client.RetryPolicy{})}, client.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(append([]client.Option{noEnv}, tt.opts...)...)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("New: %v, want %v", err, tt.wantErr)
			}
			if c != nil {
				if err := c.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
			}
		})
	}
}

// errAny stands for "some error".
var errAny = errors.New("any error")
