package cli

import (
	"cmp"
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
// otherwise is the client of app.client: same address and server trust.
func (a *app) certClient(certFile, keyFile string) (*client.Client, error) {
	certFile = cmp.Or(certFile, strings.TrimSpace(a.env(envClientCert)))
	keyFile = cmp.Or(keyFile, strings.TrimSpace(a.env(envClientKey)))
	if certFile == "" || keyFile == "" {
		return nil, usagef("-method=cert needs a client certificate: -client-cert and -client-key (or %s and %s)",
			envClientCert, envClientKey)
	}
	return a.newClient(client.WithClientCert(certFile, keyFile))
}
