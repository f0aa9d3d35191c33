package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// deleteCmd is `vaultctl delete`.
type deleteCmd struct{ app *app }

func newDeleteCmd(a *app) *cobra.Command {
	c := &deleteCmd{app: a}
	return &cobra.Command{
		Use:   "delete PATH [KEY=VALUE ...]",
		Short: "Delete data at a path (DELETE /v1/PATH)",
		Long:  "Deletes the data at PATH; KEY=VALUE arguments become query parameters.",
		Args:  minArgs(1),
		RunE:  c.run,
	}
}

func (c *deleteCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	kvp := &kvParser{stdin: c.app.stdin}
	data, err := kvp.parse(args[1:])
	if err != nil {
		return err
	}
	q, err := queryValues(data)
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	s, err := cl.Delete(cmd.Context(), args[0], q)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", args[0], err)
	}
	if s != nil {
		return c.app.printSecret(p, s, "")
	}
	p.success("Success! Data deleted (if it existed) at: %s", args[0])
	return nil
}
