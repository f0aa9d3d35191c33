package client_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/secretumvault/secretumvault/client"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewDefaultsAndEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		opts      []client.Option
		wantAddr  string
		wantToken string
		wantErr   error
	}{
		{name: "defaults", wantAddr: "https://127.0.0.1:8200"},
		{name: "env", env: map[string]string{"VAULT_ADDR": "http://vault:8200/", "VAULT_TOKEN": " s.env\n"},
			wantAddr: "http://vault:8200", wantToken: "s.env"},
		{name: "options beat env", env: map[string]string{"VAULT_ADDR": "http://vault:8200", "VAULT_TOKEN": "s.env"},
			opts:     []client.Option{client.WithAddress("http://other:1"), client.WithToken("")},
			wantAddr: "http://other:1"},
		{name: "path prefix kept", opts: []client.Option{client.WithAddress("https://lb.example/vault")},
			wantAddr: "https://lb.example/vault"},
		{name: "bad skip verify", env: map[string]string{"VAULT_SKIP_VERIFY": "maybe"}, wantErr: client.ErrInvalidArgument},
		{name: "bad timeout", env: map[string]string{"VAULT_CLIENT_TIMEOUT": "soon"}, wantErr: client.ErrInvalidArgument},
		{name: "timeout in days", env: map[string]string{"VAULT_CLIENT_TIMEOUT": " 1d "}, wantAddr: "https://127.0.0.1:8200"},
		{name: "negative timeout", env: map[string]string{"VAULT_CLIENT_TIMEOUT": "-5"}, wantErr: client.ErrInvalidArgument},
		{name: "fractional timeout needs a unit", env: map[string]string{"VAULT_CLIENT_TIMEOUT": "1.5"}, wantErr: client.ErrInvalidArgument},
		{name: "bad scheme", opts: []client.Option{client.WithAddress("ftp://x")}, wantErr: client.ErrInvalidArgument},
		{name: "no host", opts: []client.Option{client.WithAddress("http://")}, wantErr: client.ErrInvalidArgument},
		{name: "http client with CA", opts: []client.Option{client.WithHTTPClient(http.DefaultClient), client.WithCACert("x")},
			wantErr: client.ErrInvalidArgument},
		{name: "http client ignores env TLS", env: map[string]string{"VAULT_CACERT": "/nonexistent", "VAULT_SKIP_VERIFY": "true"},
			opts: []client.Option{client.WithHTTPClient(http.DefaultClient)}, wantAddr: "https://127.0.0.1:8200"},
		{name: "missing CA file", env: map[string]string{"VAULT_CACERT": "/nonexistent/ca.pem"}, wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(append([]client.Option{client.WithEnv(envOf(tt.env))}, tt.opts...)...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.Address() != tt.wantAddr || c.ClientToken() != tt.wantToken {
				t.Errorf("got %q %q, want %q %q", c.Address(), c.ClientToken(), tt.wantAddr, tt.wantToken)
			}
		})
	}
}

func TestSetTokenAndNoToken(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, 204, "")
	c := f.client(t, client.WithToken(""))
	if _, err := c.Delete(context.Background(), "a/b", nil); err != nil {
		t.Fatal(err)
	}
	if tok := f.last(t).Token; tok != "" {
		t.Errorf("sent token %q with none set", tok)
	}
	c.SetToken("s.new")
	if _, err := c.Delete(context.Background(), "a/b", nil); err != nil {
		t.Fatal(err)
	}
	if tok := f.last(t).Token; tok != "s.new" {
		t.Errorf("sent token %q, want s.new", tok)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"initialized":true}`))
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		ok      bool
		newFail bool
	}{
		{name: "system roots reject test cert", ok: false},
		{name: "VAULT_CACERT trusts it", env: map[string]string{"VAULT_CACERT": caFile}, ok: true},
		{name: "VAULT_SKIP_VERIFY", env: map[string]string{"VAULT_SKIP_VERIFY": "1"}, ok: true},
		{name: "non-PEM CA file", env: map[string]string{"VAULT_CACERT": garbage}, newFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"VAULT_ADDR": srv.URL}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := client.New(client.WithEnv(envOf(env)))
			if tt.newFail {
				if !errors.Is(err, client.ErrInvalidArgument) {
					t.Fatalf("New err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ok, err := c.Sys().InitStatus(context.Background())
			if tt.ok && (err != nil || !ok) {
				t.Fatalf("InitStatus = %v, %v", ok, err)
			}
			if !tt.ok && err == nil {
				t.Fatal("want a certificate error")
			}
		})
	}
}
