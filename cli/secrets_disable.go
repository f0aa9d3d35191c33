package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// secretsDisableCmd is `vaultctl secrets disable`.
type secretsDisableCmd struct{ app *app }

func newSecretsDisableCmd(a *app) *cobra.Command {
	c := &secretsDisableCmd{app: a}
	return &cobra.Command{
		Use:   "disable PATH",
		Short: "Unmount a secrets engine and delete all its data",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
}

func (c *secretsDisableCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	path := strings.Trim(args[0], "/")
	if path == "" {
		return usagef("empty mount path")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.Sys().DisableMount(cmd.Context(), path); err != nil {
		return fmt.Errorf("disabling %s: %w", path, err)
	}
	p.success("Success! Disabled the secrets engine (if it existed) at: %s/", path)
	return nil
}
