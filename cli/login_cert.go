package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/client"
)

// Environment variables naming the TLS client certificate of a cert login,
// as the Vault CLI reads them.
const (
	envClientCert = "VAULT_CLIENT_CERT"
	envClientKey  = "VAULT_CLIENT_KEY"
)

// certClient builds a client that presents the TLS client certificate in
// certFile and keyFile (default $VAULT_CLIENT_CERT, $VAULT_CLIENT_KEY) and
// otherwise trusts the server as the global flags and VAULT_* say.
func (a *app) certClient(certFile, keyFile string) (*client.Client, error) {
	certFile = firstNonEmpty(certFile, strings.TrimSpace(a.env(envClientCert)))
	keyFile = firstNonEmpty(keyFile, strings.TrimSpace(a.env(envClientKey)))
	if certFile == "" || keyFile == "" {
		return nil, usagef("-method=cert needs a client certificate: -client-cert and -client-key (or %s and %s)",
			envClientCert, envClientKey)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the client certificate: %w", err)
	}
	tlsCfg, err := a.serverTrust()
	if err != nil {
		return nil, err
	}
	tlsCfg.Certificates = []tls.Certificate{pair}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	opts := []client.Option{client.WithEnv(a.env), client.WithHTTPClient(&http.Client{Transport: tr})}
	if a.address != "" {
		opts = append(opts, client.WithAddress(a.address))
	}
	cl, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("configure client: %w", err)
	}
	return cl, nil
}

// serverTrust is the TLS configuration for verifying the server: -ca-cert
// or $VAULT_CACERT, -tls-skip-verify or $VAULT_SKIP_VERIFY, as app.client
// applies them.
func (a *app) serverTrust() (*tls.Config, error) {
	skip := a.skipVerify
	if v := strings.TrimSpace(a.env(client.EnvSkipVerify)); !skip && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usagef("%s=%q is not a boolean", client.EnvSkipVerify, v)
		}
		skip = b
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skip} //nolint:gosec // opt-in
	caFile := firstNonEmpty(a.caCert, strings.TrimSpace(a.env(client.EnvCACert)))
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificate %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
