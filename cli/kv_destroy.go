package cli

import "github.com/spf13/cobra"

// kvDestroyCmd is `vaultctl kv destroy`.
type kvDestroyCmd struct {
	app      *app
	mount    string
	versions []int
}

func newKVDestroyCmd(a *app) *cobra.Command {
	c := &kvDestroyCmd{app: a}
	cmd := &cobra.Command{
		Use:   "destroy [-mount=M] -versions=1,2 PATH",
		Short: "Permanently remove the data of versions of a secret",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
	bindMount(cmd, &c.mount)
	cmd.Flags().IntSliceVar(&c.versions, "versions", nil, "versions to destroy (required)")
	return cmd
}

func (c *kvDestroyCmd) run(cmd *cobra.Command, args []string) error {
	return versionsOp(c.app, cmd, c.mount, args[0], c.versions, "destroy")
}
