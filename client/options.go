package client

import (
	"net/http"

	"google.golang.org/grpc"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by New, as the Vault CLI and SDK read them.
// EnvClientTimeout is read with ParseDuration ("60", "90s", "5m"),
// surrounding spaces ignored; as with WithTimeout, 0 means no limit (Vault's
// SDK treats 0 as "keep the 60s default") and a negative value is refused.
const (
	EnvAddress       = "VAULT_ADDR"
	EnvToken         = "VAULT_TOKEN"
	EnvCACert        = "VAULT_CACERT"
	EnvSkipVerify    = "VAULT_SKIP_VERIFY"
	EnvClientTimeout = "VAULT_CLIENT_TIMEOUT"
)

// Defaults used when neither an option nor the environment sets a value.
const (
	DefaultAddress = "https://127.0.0.1:8200"
	DefaultTimeout = 60 * time.Second
)

// Option configures a Client. Options override the environment; later
// options override earlier ones.
type Option func(*settings)

// settings collects options; the *Set flags tell an explicit empty value
// from an unset one so that the environment only fills unset fields.
type settings struct {
	address, token, caCert      string
	addressSet, tokenSet, caSet bool
	skipVerify, skipVerifySet   bool
	timeout                     time.Duration
	timeoutSet                  bool
	clientCert, clientKey       string
	httpClient                  *http.Client
	getenv                      func(string) string
	maxResponseBytes            int64
	retry                       RetryPolicy
	cacheTTL                    time.Duration
	grpc                        bool
	grpcConn                    *grpc.ClientConn
}

// WithAddress sets the server address, e.g. "https://vault.example:8200".
func WithAddress(addr string) Option {
	return func(s *settings) { s.address, s.addressSet = addr, true }
}

// WithToken sets the token sent in the X-Vault-Token header.
func WithToken(token string) Option {
	return func(s *settings) { s.token, s.tokenSet = token, true }
}

// WithCACert trusts the PEM certificates in file (instead of the system pool)
// when verifying the server. It cannot be combined with WithHTTPClient.
func WithCACert(file string) Option {
	return func(s *settings) { s.caCert, s.caSet = file, true }
}

// WithTLSSkipVerify disables verification of the server certificate. For
// development only. It cannot be combined with WithHTTPClient.
func WithTLSSkipVerify(skip bool) Option {
	return func(s *settings) { s.skipVerify, s.skipVerifySet = skip, true }
}

// WithClientCert presents the TLS client certificate in the PEM file
// certFile, with its private key in the PEM file keyFile, to the server
// (as the cert auth method needs). Both files are read by New; a pair that
// does not load is an error there. It cannot be combined with
// WithHTTPClient.
func WithClientCert(certFile, keyFile string) Option {
	return func(s *settings) { s.clientCert, s.clientKey = certFile, keyFile }
}

// WithHTTPClient uses hc for every request. The caller then owns TLS setup;
// WithCACert, WithTLSSkipVerify and WithClientCert are refused alongside it.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) { s.httpClient = hc }
}

// WithTimeout bounds each request (connect, send, read the whole answer).
// Zero means no limit beyond the caller's context. Default 60s.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) { s.timeout, s.timeoutSet = d, true }
}

// WithEnv replaces os.Getenv as the source of VAULT_* defaults; pass a
// function returning "" for every name to ignore the environment.
func WithEnv(getenv func(string) string) Option {
	return func(s *settings) { s.getenv = getenv }
}

// WithMaxResponseBytes caps the size of a response body (default 32 MiB).
func WithMaxResponseBytes(n int64) Option {
	return func(s *settings) { s.maxResponseBytes = n }
}

// WithRetry replaces DefaultRetryPolicy: how often and how patiently a
// call is retried after a 5xx answer (but 501) or a connection error.
// RetryPolicy{MaxAttempts: 1} disables retries.
func WithRetry(p RetryPolicy) Option {
	return func(s *settings) { s.retry = p }
}

// WithKVCache caches the answers of KV.Get for ttl: a later Get of the
// same path and version within ttl is answered from memory. The client's
// own writes to a secret (Put, Patch, Delete, Undelete, Destroy, metadata
// changes, or a generic Write/Delete of its data or metadata path) drop
// what is cached of it; writes by other clients are seen once ttl has
// passed. 0 disables the cache (the default).
func WithKVCache(ttl time.Duration) Option {
	return func(s *settings) { s.cacheTTL = ttl }
}

// WithGRPC sends every call over gRPC, through the server's Logical and
// Sys services, to the address's host and port (the server serves gRPC and
// REST on one listener): TLS as configured for https addresses, plaintext
// HTTP/2 for http ones. Raft snapshots still stream over HTTP. The token
// travels in the x-vault-token metadata. Call Client.Close when done.
func WithGRPC() Option {
	return func(s *settings) { s.grpc = true }
}

// WithGRPCConn is WithGRPC over conn, a connection the caller dialled (and
// closes); the client's TLS options then only apply to its HTTP streams.
func WithGRPCConn(conn *grpc.ClientConn) Option {
	return func(s *settings) { s.grpcConn = conn }
}

// resolve applies opts, fills unset fields from the environment and the
// defaults, and checks the combination.
func resolve(opts []Option) (*settings, error) {
	s := &settings{getenv: os.Getenv, maxResponseBytes: 32 << 20, retry: DefaultRetryPolicy}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if s.getenv == nil {
		s.getenv = func(string) string { return "" }
	}
	if err := s.fromEnv(); err != nil {
		return nil, err
	}
	if s.address == "" {
		s.address = DefaultAddress
	}
	hasCert := s.clientCert != "" || s.clientKey != ""
	if s.httpClient != nil && (s.caSet || s.skipVerifySet || hasCert) {
		return nil, invalidArg("WithHTTPClient cannot be combined with WithCACert, WithTLSSkipVerify or WithClientCert")
	}
	if hasCert && (s.clientCert == "" || s.clientKey == "") {
		return nil, invalidArg("WithClientCert needs both a certificate and a key file")
	}
	if s.timeout < 0 {
		return nil, invalidArg("timeout must not be negative")
	}
	if s.maxResponseBytes <= 0 {
		return nil, invalidArg("max response bytes must be positive")
	}
	if s.cacheTTL < 0 {
		return nil, invalidArg("KV cache TTL must not be negative")
	}
	if err := s.retry.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// fromEnv fills every field not set by an option from the environment.
func (s *settings) fromEnv() error {
	env := func(k string) string { return strings.TrimSpace(s.getenv(k)) }
	if !s.addressSet {
		s.address = env(EnvAddress)
	}
	if !s.tokenSet {
		s.token = env(EnvToken)
	}
	if s.httpClient == nil && !s.caSet {
		s.caCert = env(EnvCACert)
	}
	if v := env(EnvSkipVerify); s.httpClient == nil && !s.skipVerifySet && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalidArg("%s=%q is not a boolean", EnvSkipVerify, v)
		}
		s.skipVerify = b
	}
	if !s.timeoutSet {
		s.timeout = DefaultTimeout
		if v := env(EnvClientTimeout); v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				return invalidArg("%s=%q is not a duration (e.g. 60, 90s or 5m)", EnvClientTimeout, v)
			}
			s.timeout = d
		}
	}
	return nil
}
