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
		Long: `Cleans up the lease store (PUT sys/leases/tidy): removes entries that no
longer describe a lease, such as token index entries whose lease is gone
and records that cannot be read. SecretumVault does the work before it
answers and prints how many entries it removed; Vault starts it in the
background and reports in its log. -format=json prints {"removed"}.`,
		Args: noArgs,
		RunE: c.run,
	}
}

func (c *leaseTidyCmd) run(cmd *cobra.Command, _ []string) error {
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	r, err := cl.Sys().TidyLeases(cmd.Context())
	if err != nil {
		return fmt.Errorf("tidying leases: %w", err)
	}
	if p.structured() {
		return p.print(document{Value: r})
	}
	printWarnings(c.app.stderr, &client.Secret{Warnings: r.Warnings})
	if r.Removed == nil {
		p.success("Success! Started tidying the lease store; the server's log reports the outcome.")
		return nil
	}
	p.success("Success! Tidied the lease store: %d entries removed.", *r.Removed)
	return nil
}
