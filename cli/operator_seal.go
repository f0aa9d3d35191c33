package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// operatorSealCmd is `vaultctl operator seal`.
type operatorSealCmd struct{ app *app }

func newOperatorSealCmd(a *app) *cobra.Command {
	c := &operatorSealCmd{app: a}
	return &cobra.Command{
		Use:   "seal",
		Short: "Seal the server (needs a token allowed to)",
		Args:  noArgs,
		RunE:  c.run,
	}
}

func (c *operatorSealCmd) run(cmd *cobra.Command, _ []string) error {
	p, cl, err := c.app.session()
	if err != nil {
		return err
	}
	if err := cl.Sys().Seal(cmd.Context()); err != nil {
		return fmt.Errorf("sealing: %w", err)
	}
	p.success("Success! Vault is sealed.")
	return nil
}
