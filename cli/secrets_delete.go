package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// secretsDeleteCmd is `vaultctl secrets delete`.
type secretsDeleteCmd struct {
	app   *app
	mount string
}

func newSecretsDeleteCmd(a *app) *cobra.Command {
	c := &secretsDeleteCmd{app: a}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a named secret with all its versions",
		Long: `Deletes NAME permanently: every version and its metadata, as credstash does.
To soft-delete only the latest version use "kv delete".`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	return cmd
}

func (c *secretsDeleteCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	name := args[0]
	if err := validateName(name); err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	mount := c.app.credMount(c.mount)
	if err := cl.KV(mount).DeleteMetadata(cmd.Context(), name); err != nil {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	p.success("Deleted %s (all versions) from %s/", name, mount)
	return nil
}
