package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// authDisableCmd is `vaultctl auth disable`.
type authDisableCmd struct{ app *app }

func newAuthDisableCmd(a *app) *cobra.Command {
	c := &authDisableCmd{app: a}
	return &cobra.Command{
		Use:   "disable PATH",
		Short: "Disable an auth method and revoke the tokens it issued",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
}

func (c *authDisableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	path := strings.TrimPrefix(strings.Trim(args[0], "/"), "auth/")
	if path == "" {
		return usagef("empty mount path")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().DisableAuth(cmd.Context(), path); err != nil {
		return fmt.Errorf("disabling auth method at %s: %w", path, err)
	}
	p.success("Success! Disabled the auth method (if it existed) at: %s/", path)
	return nil
}
