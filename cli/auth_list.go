package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// authListCmd is `vaultctl auth list`.
type authListCmd struct {
	app      *app
	detailed bool
}

func newAuthListCmd(a *app) *cobra.Command {
	c := &authListCmd{app: a}
	cmd := &cobra.Command{
		Use:   "list [-detailed]",
		Short: "List the enabled auth methods",
		Args:  noArgs,
		RunE:  c.run,
	}
	cmd.Flags().BoolVar(&c.detailed, "detailed", false, "also show options and TTLs")
	return cmd
}

func (c *authListCmd) run(cmd *cobra.Command, _ []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	methods, err := cl.Sys().ListAuth(cmd.Context())
	if err != nil {
		return fmt.Errorf("listing auth methods: %w", err)
	}
	return p.print(mountsDocument(methods, c.detailed))
}
