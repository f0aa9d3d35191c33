package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// kvListCmd is `vaultctl kv list`.
type kvListCmd struct {
	app   *app
	mount string
}

func newKVListCmd(a *app) *cobra.Command {
	c := &kvListCmd{app: a}
	cmd := &cobra.Command{
		Use:   "list [-mount=M] PATH",
		Short: "List the keys under a KV path",
		Long:  "Lists the keys under PATH (a mount alone lists its root). Exit code 2 when there are none.",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
	bindMount(cmd, &c.mount)
	return cmd
}

func (c *kvListCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	t, err := parseKVPath(c.mount, args[0], true)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	keys, err := cl.KV(t.mount).List(cmd.Context(), t.path)
	if err != nil {
		return fmt.Errorf("listing %s: %w", t.api("metadata"), err)
	}
	if len(keys) == 0 {
		return noValueAt(t.api("metadata"))
	}
	return p.print(keysDocument(keys))
}
