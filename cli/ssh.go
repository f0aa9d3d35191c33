package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

func newSSHCmd(a *app) *cobra.Command {
	return groupCommand("ssh", "Get SSH certificates from an SSH secrets engine",
		`Works with an SSH secrets engine in CA mode (enabled with
"vaultctl secrets enable ssh"): the server signs your public key with its CA
for a few hours, and every sshd that trusts the CA (TrustedUserCAKeys) lets
you in as the certificate's principals — no authorized_keys to manage.

  ssh sign -role ROLE [-principals a,b] [-ttl 8h] ~/.ssh/id_ed25519.pub`,
		newSSHSignCmd(a))
}

// sshSignCmd is `vaultctl ssh sign`.
type sshSignCmd struct {
	app        *app
	mount      string
	role       string
	principals string
	ttl        string
	certType   string
	keyID      string
	extensions []string
	out        string
}

func newSSHSignCmd(a *app) *cobra.Command {
	c := &sshSignCmd{app: a}
	cmd := &cobra.Command{
		Use:   "sign -role ROLE [flags] PUBLIC_KEY_FILE",
		Short: "Have the server certify an SSH public key",
		Long: `Sends PUBLIC_KEY_FILE (e.g. ~/.ssh/id_ed25519.pub) to PUT MOUNT/sign/ROLE and
writes the certificate next to the key, where ssh looks for it:
id_ed25519.pub -> id_ed25519-cert.pub (-out FILE to choose). Then
"ssh user@host" presents it with the key. -principals lists the users
(or, with -cert-type host, the host names) the certificate is for; without
it the role's default_user is used — the server never signs a certificate
for no principal. -ttl asks for a validity (the role's max_ttl caps it).
-extension k=v (repeatable) asks for an extension the role allows.
Prints the file written, the serial number and the certificate.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	f := cmd.Flags()
	f.StringVar(&c.mount, "mount", "ssh", "path the SSH engine is mounted at")
	f.StringVar(&c.role, "role", "", "role to sign with (required)")
	f.StringVar(&c.principals, "principals", "", "comma-separated principals (default: the role's default_user)")
	f.StringVar(&c.ttl, "ttl", "", `requested validity, e.g. "8h"`)
	f.StringVar(&c.certType, "cert-type", "user", "user or host")
	f.StringVar(&c.keyID, "key-id", "", "key id to put in the certificate (default from the role)")
	f.StringArrayVar(&c.extensions, "extension", nil, "extension k=v to ask for (repeatable)")
	f.StringVar(&c.out, "out", "", "file to write the certificate to (default: next to the key)")
	return cmd
}

func (c *sshSignCmd) run(cmd *cobra.Command, args []string) error {
	if c.role == "" {
		return usagef("-role is required")
	}
	if c.certType != "user" && c.certType != "host" {
		return usagef("invalid -cert-type %q: want user or host", c.certType)
	}
	ext, err := parseExtensions(c.extensions)
	if err != nil {
		return err
	}
	pub, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("reading the public key: %w", err)
	}
	out := c.out
	if out == "" {
		out = certPath(args[0])
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	cert, err := cl.SSH(c.mount).Sign(cmd.Context(), c.role, client.SSHSignInput{
		PublicKey: strings.TrimSpace(string(pub)), ValidPrincipals: c.principals, CertType: c.certType,
		TTL: c.ttl, KeyID: c.keyID, Extensions: ext,
	})
	if err != nil {
		return fmt.Errorf("signing %s with role %s: %w", args[0], c.role, err)
	}
	if err := os.WriteFile(out, []byte(strings.TrimSpace(cert.SignedKey)+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the certificate: %w", err)
	}
	doc := struct {
		*client.SSHCertificate
		Path string `json:"path"`
	}{cert, out}
	fields := []field{{"path", out}, {"serial_number", cert.SerialNumber}, {"signed_key", strings.TrimSpace(cert.SignedKey)}}
	return p.print(document{Value: doc, Sections: []section{keyValueSection("", fields)}})
}

// certPath is where ssh looks for the certificate of the key whose
// public half is pub: id_ed25519.pub -> id_ed25519-cert.pub.
func certPath(pub string) string {
	dir, base := filepath.Split(pub)
	return filepath.Join(dir, strings.TrimSuffix(base, ".pub")+"-cert.pub")
}

// parseExtensions turns repeated k=v flags into a map.
func parseExtensions(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, usagef("invalid -extension %q: want NAME=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}
