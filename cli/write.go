package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// writeCmd is `vaultctl write`.
type writeCmd struct {
	app   *app
	field string
	force bool
}

func newWriteCmd(a *app) *cobra.Command {
	c := &writeCmd{app: a}
	cmd := &cobra.Command{
		Use:   "write PATH [KEY=VALUE ...]",
		Short: "Write data to a path (PUT /v1/PATH)",
		Long: `Writes KEY=VALUE pairs to PATH. A value "@file" is the file's contents, "-" is
stdin; a bare "-" or "@file.json" argument merges a JSON object. A repeated
KEY makes a list. Without data, -force is required.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	cmd.Flags().StringVar(&c.field, "field", "", "print only this field of the answer")
	cmd.Flags().BoolVarP(&c.force, "force", "f", false, "allow a write without data")
	return cmd
}

func (c *writeCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if len(args) == 1 && !c.force {
		return usagef("must supply data or use -force")
	}
	kvp := &kvParser{stdin: c.app.stdin}
	data, err := kvp.parse(args[1:])
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	s, err := cl.Write(cmd.Context(), args[0], data)
	if err != nil {
		return fmt.Errorf("writing %s: %w", args[0], err)
	}
	if s == nil {
		p.success("Success! Data written to: %s", args[0])
		return nil
	}
	return c.app.printSecret(p, s, c.field)
}
