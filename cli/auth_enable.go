package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// authEnableCmd is `vaultctl auth enable`.
type authEnableCmd struct {
	app *app
	mountFlags
}

func newAuthEnableCmd(a *app) *cobra.Command {
	c := &authEnableCmd{app: a}
	cmd := &cobra.Command{
		Use:   "enable [-path=P] [-description=D] TYPE",
		Short: "Enable an auth method",
		Long: `Enables an auth method of TYPE (approle, userpass, keypair, cert, jwt) at
-path (default: TYPE); it then answers under auth/PATH/.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	c.bind(cmd.Flags(), mountFlagHelp{kind: "method", of: "method",
		defaultTTL: "default TTL of the tokens it issues, e.g. 1h", maxTTL: "maximum TTL of the tokens it issues"})
	return cmd
}

func (c *authEnableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	typ := strings.TrimSpace(args[0])
	if typ == "" {
		return usagef("empty auth method type")
	}
	in, path, err := c.input(typ)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().EnableAuth(cmd.Context(), path, in); err != nil {
		return fmt.Errorf("enabling %s auth method at %s: %w", in.Type, path, err)
	}
	p.success("Success! Enabled %s auth method at: %s/", in.Type, path)
	return nil
}
