package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults of ListenerConfig: Vault's for the settings Vault has
// (http_read_header_timeout, http_read_timeout, http_write_timeout,
// http_idle_timeout).
const (
	DefaultReadHeaderTimeout               = 10 * time.Second
	DefaultReadTimeout                     = 30 * time.Second
	DefaultWriteTimeout      time.Duration = 0 // none, as in Vault: see ListenerConfig.WriteTimeout
	DefaultIdleTimeout                     = 5 * time.Minute
	// DefaultMaxHeaderBytes is 64 KiB: ample for tokens, bearer JWTs and
	// gRPC metadata, a sixteenth of net/http's 1 MiB default.
	DefaultMaxHeaderBytes = 64 << 10
)

// ListenerConfig is what one API listener enforces on its clients: how
// long a connection may take to send a request and to take the answer,
// how large the request headers may be, and whether Prometheus may scrape
// it without a token. Build it with DefaultListenerConfig and change
// fields; ServeListener checks it with Validate. A zero duration disables
// that timeout (as in net/http), which DefaultListenerConfig does only for
// WriteTimeout.
//
// The timeouts are net/http's, per request, with one exception: snapshot
// transfers. GET, PUT and POST of /v1/sys/storage/raft/snapshot and
// snapshot-force move archives of any size, so for them ReadTimeout and
// WriteTimeout bound each read of the body and each write of the answer
// (the time without progress) rather than the whole request: a large
// snapshot on a slow link completes, a stalled one is cut off after the
// timeout. Every other request must arrive within ReadTimeout of its
// first byte and, if WriteTimeout is set, be answered within WriteTimeout
// of the end of its headers.
type ListenerConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers, and the TLS
	// handshake (Vault's http_read_header_timeout). A client sending its
	// headers slower is disconnected without an answer.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body
	// (http_read_timeout); for snapshot uploads, each read of the body.
	// A client whose body is late is disconnected.
	ReadTimeout time.Duration
	// WriteTimeout bounds answering a request, from the end of its
	// headers to the last byte of the response (http_write_timeout); for
	// snapshot downloads, each write. Like Vault, the default is none:
	// over HTTP/1.1 the deadline also covers the handler's work, and a
	// request that outlives it loses its answer.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long between
	// requests (http_idle_timeout).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers of HTTP/1.1
	// requests (net/http allows 4 KiB of slack above it) and the header
	// list of HTTP/2 ones; larger requests get 431.
	MaxHeaderBytes int
	// UnauthenticatedMetricsAccess serves /v1/sys/metrics?format=prometheus
	// on this listener without a token, on any node, sealed, standby or
	// active, with that node's own metrics (Vault's listener telemetry
	// option of the same name). Without it a scrape needs a token allowed
	// to read sys/metrics, which only the active node can check: a standby
	// refuses scrapes with 400 "cannot forward local-only request", as
	// Vault does, rather than answer with the active node's figures.
	UnauthenticatedMetricsAccess bool
	// DisableUnauthedRekeyEndpoints turns off the unauthenticated rekey
	// ceremony (sys/rekey/*) on this listener (Vault's
	// disable_unauthed_rekey_endpoints); operators then rekey with the
	// token-authenticated sys/rotate/root/* (OpenBao's rotate-keys).
	// DisableUnauthedGenerateRootEndpoints does the same for
	// sys/generate-root/* and sys/generate-root-token/* (OpenBao's
	// disable_unauthed_generate_root_endpoints).
	DisableUnauthedRekeyEndpoints        bool
	DisableUnauthedGenerateRootEndpoints bool
}

// disabledPath reports whether the listener turned off the
// unauthenticated ceremony that urlPath belongs to: such a path answers
// 404, as if it did not exist, which is what Vault does.
func (l ListenerConfig) disabledPath(urlPath string) bool {
	p, ok := strings.CutPrefix(urlPath, "/v1/sys/")
	if !ok {
		return false
	}
	switch {
	case l.DisableUnauthedRekeyEndpoints && (strings.HasPrefix(p, "rekey/") || strings.HasPrefix(p, "rekey-recovery-key/")):
		return true
	case l.DisableUnauthedGenerateRootEndpoints && (strings.HasPrefix(p, "generate-root/") || strings.HasPrefix(p, "generate-root-token/")):
		return true
	}
	return false
}

// DefaultListenerConfig returns the defaults: Vault's timeouts (10 s
// header, 30 s request, no write timeout, 5 min idle), 64 KiB of headers
// and token-authenticated metrics.
func DefaultListenerConfig() ListenerConfig {
	return ListenerConfig{
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
	}
}

// ErrListenerConfig is wrapped by every error of ListenerConfig.Validate.
var ErrListenerConfig = errors.New("api: invalid listener config")

// Validate reports the first invalid field by name: durations and the
// header limit must not be negative, and MaxHeaderBytes must be set
// (net/http would silently use its own 1 MiB for zero).
func (c ListenerConfig) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ReadHeaderTimeout", c.ReadHeaderTimeout},
		{"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout},
		{"IdleTimeout", c.IdleTimeout},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrListenerConfig, f.name, f.d)
		}
	}
	if c.MaxHeaderBytes <= 0 {
		return fmt.Errorf("%w: MaxHeaderBytes %d must be positive", ErrListenerConfig, c.MaxHeaderBytes)
	}
	return nil
}

// listenerKey carries the ListenerConfig of the listener a request came
// in on (ServeListener's base context). Requests served through Handler
// alone, and requests forwarded by a standby, have none: they get the
// defaults.
type listenerKey struct{}

func withListener(ctx context.Context, c *ListenerConfig) context.Context {
	return context.WithValue(ctx, listenerKey{}, c)
}

// listenerFrom returns the config of the request's listener, or the
// defaults.
func listenerFrom(ctx context.Context) ListenerConfig {
	if c, ok := ctx.Value(listenerKey{}).(*ListenerConfig); ok {
		return *c
	}
	return DefaultListenerConfig()
}
