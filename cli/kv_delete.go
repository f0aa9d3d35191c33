package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// kvDeleteCmd is `vaultctl kv delete`.
type kvDeleteCmd struct {
	app      *app
	mount    string
	versions []int
}

func newKVDeleteCmd(a *app) *cobra.Command {
	c := &kvDeleteCmd{app: a}
	cmd := &cobra.Command{
		Use:   "delete [-mount=M] [-versions=1,2] PATH",
		Short: "Soft-delete the latest version, or -versions, of a secret",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
	bindMount(cmd, &c.mount)
	cmd.Flags().IntSliceVar(&c.versions, "versions", nil, "versions to delete (default the latest)")
	return cmd
}

func (c *kvDeleteCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	t, err := parseKVPath(c.mount, args[0], false)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	if err := cl.KV(t.mount).Delete(cmd.Context(), t.path, c.versions...); err != nil {
		return fmt.Errorf("deleting %s: %w", t.api("data"), err)
	}
	p.success("Success! Data deleted (if it existed) at: %s", t.api("data"))
	return nil
}
