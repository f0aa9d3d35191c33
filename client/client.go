// Package client is the Go SDK of SecretumVault. It speaks the public Vault
// HTTP API (envelope, {"errors":[...]}, X-Vault-Token, LIST), so it also works
// against HashiCorp Vault and OpenBao for the paths it covers; with
// WithGRPC it sends the same calls through SecretumVault's gRPC services
// (Logical.Handle carries the same Vault JSON; the Sys service serves
// init, unseal, seal status, health, leader and mounts), and every helper
// works unchanged on either transport.
//
// A Client is safe for concurrent use. Every I/O method takes a context
// first. Generic calls (Read, Write, List, Delete) return the raw *Secret;
// typed helpers hang off Sys(), KV(mount), Token(), Auth(), Leases(),
// Policies(), Audit(), Rotation(), Raft(), Database(mount), PKI(mount),
// Transit(mount), AWS(mount) and SSH(mount). NewLifetimeWatcher keeps a
// lease or a token renewed.
//
// Calls are retried after 5xx answers and connection errors with jittered
// exponential backoff, never after a 4xx, within the context's deadline
// (WithRetry). WithKVCache caches KV reads for a TTL, invalidated by the
// client's own writes.
//
// Errors: every HTTP status >= 400 is a *ResponseError (use errors.As), and
// it matches the package sentinels ErrNotFound, ErrPermissionDenied,
// ErrInvalidRequest and ErrUnavailable by status (use errors.Is). No error
// message ever contains the token or a request body.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Client talks to one server address. Create it with New; call Close
// when done with a client that uses gRPC.
type Client struct {
	base     *url.URL
	hc       *http.Client // REST calls, and streams on every transport
	tr       transport
	timeout  time.Duration
	maxBytes int64
	retry    RetryPolicy
	cache    *kvCache // nil without WithKVCache
	token    atomic.Pointer[string]
}

// New builds a Client. Unset options default from the environment
// (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_SKIP_VERIFY,
// VAULT_CLIENT_TIMEOUT), then to https://127.0.0.1:8200, a 60s timeout,
// the HTTP transport, DefaultRetryPolicy and no KV cache. WithGRPC sends
// the same calls over gRPC; every helper works on either transport.
// Errors wrap ErrInvalidArgument for a bad address or option combination.
func New(opts ...Option) (*Client, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	base, err := parseAddress(s.address)
	if err != nil {
		return nil, err
	}
	hc := s.httpClient
	if hc == nil {
		hc, err = newHTTPClient(s)
		if err != nil {
			return nil, err
		}
	}
	c := &Client{base: base, hc: hc, timeout: s.timeout, maxBytes: s.maxResponseBytes, retry: s.retry}
	if s.cacheTTL > 0 {
		c.cache = newKVCache(s.cacheTTL, time.Now)
	}
	c.tr = httpTransport{c: c}
	if s.grpc || s.grpcConn != nil {
		if c.tr, err = newGRPCTransport(s, base, hc); err != nil {
			return nil, err
		}
	}
	c.SetToken(s.token)
	return c, nil
}

// Close releases the client's gRPC connection, if it opened one (a
// connection given with WithGRPCConn is the caller's to close). The
// client must not be used afterwards. Closing an HTTP client does
// nothing.
func (c *Client) Close() error { return c.tr.close() }

// clone returns a client sharing c's transport, cache and settings, with
// its own token (initially "").
func (c *Client) clone() *Client {
	lc := &Client{base: c.base, hc: c.hc, tr: c.tr, timeout: c.timeout, maxBytes: c.maxBytes, retry: c.retry, cache: c.cache}
	lc.SetToken("")
	return lc
}

// Address returns the server address the client talks to.
func (c *Client) Address() string { return c.base.String() }

// SetToken replaces the token sent with every later request; "" sends none.
func (c *Client) SetToken(token string) { c.token.Store(&token) }

// ClientToken returns the token currently in use.
func (c *Client) ClientToken() string { return *c.token.Load() }

// Read GETs path (relative to /v1/, e.g. "secret/data/app"); query may be
// nil. A 204 answer returns (nil, nil).
func (c *Client) Read(ctx context.Context, path string, query url.Values) (*Secret, error) {
	return c.secret(ctx, request{method: http.MethodGet, path: path, query: query})
}

// Write PUTs data as a JSON object to path and returns the answer, or
// (nil, nil) on 204.
func (c *Client) Write(ctx context.Context, path string, data map[string]any) (*Secret, error) {
	if data == nil {
		data = map[string]any{}
	}
	return c.secret(ctx, request{method: http.MethodPut, path: path, body: data})
}

// List sends LIST to path; the keys are in Secret.Keys(). An empty listing is
// a 404 in the Vault API, returned as a *ResponseError matching ErrNotFound;
// typed helpers such as KV.List turn it into an empty slice.
func (c *Client) List(ctx context.Context, path string) (*Secret, error) {
	return c.secret(ctx, request{method: "LIST", path: path})
}

// Delete sends DELETE to path with optional query parameters and returns
// the answer, or (nil, nil) on 204.
func (c *Client) Delete(ctx context.Context, path string, query url.Values) (*Secret, error) {
	return c.secret(ctx, request{method: http.MethodDelete, path: path, query: query})
}

// parseAddress validates an http(s) URL with a host.
func parseAddress(addr string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(addr, "/"))
	if err != nil {
		return nil, invalidArg("address %q: %v", addr, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidArg("address %q: want http(s)://host[:port]", addr)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, invalidArg("address %q: must not carry a query or fragment", addr)
	}
	return u, nil
}

// newHTTPClient builds a client with its own transport and the TLS settings
// of s: the CA to trust, skip-verify and the client certificate.
func newHTTPClient(s *settings) (*http.Client, error) {
	tlsCfg, err := tlsConfig(s)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	return &http.Client{Transport: tr}, nil
}

// tlsConfig is the TLS setup of s: the CA to trust, skip-verify and the
// client certificate.
func tlsConfig(s *settings) (*tls.Config, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.skipVerify} //nolint:gosec // opt-in
	if caFile := s.caCert; caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("client: read CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, invalidArg("CA certificate %s holds no PEM certificate", caFile)
		}
		tlsCfg.RootCAs = pool
	}
	if s.clientCert != "" {
		pair, err := tls.LoadX509KeyPair(s.clientCert, s.clientKey)
		if err != nil {
			return nil, fmt.Errorf("client: load client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	}
	return tlsCfg, nil
}
