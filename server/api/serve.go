package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// Serve serves Handler on ln with DefaultListenerConfig until ctx is
// cancelled; see ServeListener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	return s.ServeListener(ctx, ln, tlsConfig, DefaultListenerConfig())
}

// ServeListener serves Handler on ln, with the timeouts, header limit and
// metrics access of cfg, until ctx is cancelled, then shuts down
// gracefully: the listener closes, in-flight requests get up to
// Options.ShutdownTimeout to finish. With tlsConfig nil it speaks HTTP/1.1
// and unencrypted HTTP/2 with prior knowledge (h2c, as gRPC clients use
// without TLS); otherwise TLS with ALPN h2 and http/1.1. It returns nil
// after a shutdown caused by ctx, or the error that stopped serving (an
// invalid cfg among them).
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, cfg ListenerConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           progressDeadlines(s.handler, cfg.ReadTimeout, cfg.WriteTimeout),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context {
			return withListener(context.WithoutCancel(ctx), &cfg)
		},
		Protocols: new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig.Clone()
		if srv.TLSConfig.ClientAuth == tls.NoClientCert {
			// Ask for a client certificate for the cert auth method;
			// verifying it is that method's job (peercerts.go).
			srv.TLSConfig.ClientAuth = tls.RequestClientCert
		}
		srv.Protocols.SetHTTP2(true)
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	<-errc
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("api: graceful shutdown of %s: %w", ln.Addr(), err)
	}
	return nil
}

// TLSConfig loads a certificate and key (PEM) for the API listener.
// minVersion is Vault's tls_min_version: "tls12" or "tls13"; empty means
// TLS 1.3. The config offers ALPN h2 and http/1.1 and requests, but
// neither requires nor verifies, a client certificate
// (tls.RequestClientCert): the cert auth method verifies the chain a
// client presents, and clients without one are served as before.
func TLSConfig(certFile, keyFile, minVersion string) (*tls.Config, error) {
	min, err := tlsVersion(minVersion)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("api: load TLS certificate %s: %w", certFile, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   min,
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// ErrTLSVersion reports an unsupported tls_min_version.
var ErrTLSVersion = errors.New("api: unsupported tls_min_version (want tls12 or tls13)")

func tlsVersion(s string) (uint16, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "tls13":
		return tls.VersionTLS13, nil
	case "tls12":
		return tls.VersionTLS12, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrTLSVersion, s)
}
