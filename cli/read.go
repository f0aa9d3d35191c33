package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// readCmd is `vaultctl read`.
type readCmd struct {
	app   *app
	field string
}

func newReadCmd(a *app) *cobra.Command {
	c := &readCmd{app: a}
	cmd := &cobra.Command{
		Use:   "read PATH [KEY=VALUE ...]",
		Short: "Read data at a path (GET /v1/PATH)",
		Long: `Reads the data at PATH; KEY=VALUE arguments become query parameters.
Exit code 2 when nothing is stored at PATH.`,
		Args: minArgs(1),
		RunE: c.run,
	}
	cmd.Flags().StringVar(&c.field, "field", "", "print only this field's value")
	return cmd
}

func (c *readCmd) run(cmd *cobra.Command, args []string) error {
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
	s, err := cl.Read(cmd.Context(), args[0], q)
	if errors.Is(err, client.ErrNotFound) || (err == nil && s == nil) {
		return noValueAt(args[0])
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", args[0], err)
	}
	return c.app.printSecret(p, s, c.field)
}

// noValueAt is Vault's answer for an empty path: a message and exit code 2.
func noValueAt(path string) error {
	return &exitError{code: ExitUsage, msg: "No value found at " + path}
}

// printSecret prints s whole, or only -field when set.
func (a *app) printSecret(p *printer, s *client.Secret, fieldName string) error {
	if fieldName != "" {
		return printField(a.stdout, secretFields(s), fieldName)
	}
	if !p.structured() {
		printWarnings(a.stderr, s)
	}
	return p.print(secretDocument(s))
}
