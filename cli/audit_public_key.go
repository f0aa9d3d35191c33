package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/audit"
)

// auditPublicKeyCmd is `vaultctl audit public-key`.
type auditPublicKeyCmd struct{ app *app }

func newAuditPublicKeyCmd(a *app) *cobra.Command {
	c := &auditPublicKeyCmd{app: a}
	return &cobra.Command{
		Use:   "public-key PATH",
		Short: "Print the key an audit device signs its checkpoints with",
		Long: `Prints the Ed25519 public key the audit device at PATH signs its log's
checkpoints and evidence bundles with, as a PEM "PUBLIC KEY" block (GET
sys/audit/PATH/public-key). Give it to auditors through a channel of its own:
"vaultctl audit verify -public-key @KEY" and "vaultctl audit verify-bundle
-public-key @KEY" check logs and bundles against it. -format=json prints
{"public_key","key_id","algorithm"}.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
}

func (c *auditPublicKeyCmd) run(cmd *cobra.Command, args []string) error {
	path := strings.Trim(args[0], "/")
	if path == "" || checkSegments(path) != nil {
		return usagef("invalid audit device path %q", args[0])
	}
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	k, err := cl.Sys().AuditPublicKey(cmd.Context(), path)
	if err != nil {
		return fmt.Errorf("reading the public key of audit device %s: %w", path, err)
	}
	pub, err := k.Ed25519()
	if err != nil {
		return fmt.Errorf("audit device %s: %w", path, err)
	}
	if id := audit.KeyID(pub); id != k.KeyID {
		return fmt.Errorf("audit device %s: the server names its key %s, the key's id is %s", path, k.KeyID, id)
	}
	lines := strings.Split(strings.TrimSuffix(k.PublicKey, "\n"), "\n")
	return p.print(document{Value: k, Sections: []section{{Text: lines}}})
}
