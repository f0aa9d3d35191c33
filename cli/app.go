package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// Environment variables read by the CLI itself (the client reads VAULT_ADDR,
// VAULT_TOKEN, VAULT_CACERT, VAULT_SKIP_VERIFY and VAULT_CLIENT_TIMEOUT).
const (
	envFormat = "VAULT_FORMAT"
	envMount  = "VAULTCTL_MOUNT"
	envHome   = "HOME"
)

// defaultCredMount is the KV v2 mount of the "secrets put/get/..." family.
const defaultCredMount = "secret"

// app is the root command's state: streams, environment and global flags.
// Every subcommand gets a pointer to it.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            func(string) string
	// environ is the process environment handed to "vaultctl env"'s child.
	environ func() []string

	address    string
	caCert     string
	skipVerify bool
	format     string

	cl *client.Client
}

func (a *app) rootCommand() *cobra.Command {
	root := groupCommand("vaultctl", "Command-line client for SecretumVault (Vault-compatible)",
		`vaultctl talks to a SecretumVault (or Vault-compatible) server over its HTTP API.

The server address and token come from VAULT_ADDR (default https://127.0.0.1:8200)
and VAULT_TOKEN (or the file ~/.vault-token); VAULT_CACERT and VAULT_SKIP_VERIFY
control TLS. Flags may be written with one dash, as in Vault: -format=json.`,
		newStatusCmd(a), newOperatorCmd(a),
		newReadCmd(a), newWriteCmd(a), newListCmd(a), newDeleteCmd(a),
		newKVCmd(a), newSecretsCmd(a), newTokenCmd(a),
		newPolicyCmd(a), newAuthCmd(a), newLoginCmd(a), newAuditCmd(a), newLeaseCmd(a), newSSHCmd(a), newRotationCmd(a),
		newEnvCmd(a), newCompletionCmd(a))
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.address, "address", "", "server address (default $VAULT_ADDR or https://127.0.0.1:8200)")
	pf.StringVar(&a.caCert, "ca-cert", "", "PEM file of the CA that signed the server certificate (default $VAULT_CACERT)")
	pf.BoolVar(&a.skipVerify, "tls-skip-verify", false, "do not verify the server certificate (insecure; default $VAULT_SKIP_VERIFY)")
	pf.StringVar(&a.format, "format", "", "output format: table, json or yaml (default $VAULT_FORMAT or table)")
	return root
}

// client returns the API client, building it on first use.
func (a *app) client() (*client.Client, error) {
	if a.cl != nil {
		return a.cl, nil
	}
	c, err := a.newClient()
	if err != nil {
		return nil, err
	}
	a.cl = c
	return c, nil
}

// newClient builds a client from the global flags and the environment,
// with extra options last.
func (a *app) newClient(extra ...client.Option) (*client.Client, error) {
	opts := []client.Option{client.WithEnv(a.env)}
	if a.address != "" {
		opts = append(opts, client.WithAddress(a.address))
	}
	if a.caCert != "" {
		opts = append(opts, client.WithCACert(a.caCert))
	}
	if a.skipVerify {
		opts = append(opts, client.WithTLSSkipVerify(true))
	}
	if strings.TrimSpace(a.env(client.EnvToken)) == "" {
		if tok := a.tokenFromFile(); tok != "" {
			opts = append(opts, client.WithToken(tok))
		}
	}
	c, err := client.New(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("configure client: %w", err)
	}
	return c, nil
}

// tokenFromFile reads ~/.vault-token as the Vault CLI's default token helper
// does; a missing file is no token.
func (a *app) tokenFromFile() string {
	home := a.env(envHome)
	if home == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(home, ".vault-token"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// printer returns the output printer for the -format flag or VAULT_FORMAT.
func (a *app) printer() (*printer, error) {
	return newPrinter(a.stdout, a.formatOrEnv())
}

// credMount resolves the mount of the credstash-style commands.
func (a *app) credMount(flag string) string {
	if m := strings.Trim(flag, "/"); m != "" {
		return m
	}
	if m := strings.Trim(a.env(envMount), "/"); m != "" {
		return m
	}
	return defaultCredMount
}
