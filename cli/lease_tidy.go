package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// leaseTidyCmd is `vaultctl lease tidy`.
type leaseTidyCmd struct{ app *app }

func newLeaseTidyCmd(a *app) *cobra.Command {
	c := &leaseTidyCmd{app: a}
	return &cobra.Command{
		Use:   "tidy",
		Short: "Clean up the lease store",
		Long: `Starts a clean-up of the lease store in the background (PUT sys/leases/tidy),
as Vault's does: entries that no longer describe a live lease are removed.
The server answers at once; its log reports the outcome.`,
		Args: noArgs,
		RunE: c.run,
	}
}

func (c *leaseTidyCmd) run(cmd *cobra.Command, _ []string) error {
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	warnings, err := cl.Sys().TidyLeases(cmd.Context())
	if err != nil {
		return fmt.Errorf("tidying leases: %w", err)
	}
	if !p.structured() {
		printWarnings(c.app.stderr, &client.Secret{Warnings: warnings})
	}
	p.success("Success! Started tidying the lease store.")
	return nil
}
