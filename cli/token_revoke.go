package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// tokenRevokeCmd is `vaultctl token revoke`.
type tokenRevokeCmd struct{ app *app }

func newTokenRevokeCmd(a *app) *cobra.Command {
	c := &tokenRevokeCmd{app: a}
	return &cobra.Command{
		Use:   "revoke TOKEN|-",
		Short: "Revoke a token and its children",
		Long:  `Revokes TOKEN and every token created from it. "-" reads TOKEN from stdin.`,
		Args:  exactArgs(1),
		RunE:  c.run,
	}
}

func (c *tokenRevokeCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	tok, err := c.app.tokenArg(args[0])
	if err != nil {
		return err
	}
	if tok == "" {
		return usagef("empty token")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Token().Revoke(cmd.Context(), tok); err != nil {
		return fmt.Errorf("revoking token: %w", err)
	}
	p.success("Success! Revoked token (if it existed)")
	return nil
}
