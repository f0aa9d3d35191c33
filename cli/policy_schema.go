package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// policySchemaCmd is `vaultctl policy schema`.
type policySchemaCmd struct{ app *app }

func newPolicySchemaCmd(a *app) *cobra.Command {
	c := &policySchemaCmd{app: a}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the Cedar schema policies are validated against",
		Long: `Prints the server's Cedar schema (entity types, actions, context) in Cedar's
schema syntax, e.g. to validate policies locally. -format=json: {"schema": TEXT}.`,
		Args: noArgs,
		RunE: c.run,
	}
}

func (c *policySchemaCmd) run(cmd *cobra.Command, _ []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	schema, err := cl.Sys().CedarSchema(cmd.Context())
	if err != nil {
		return fmt.Errorf("reading the Cedar schema: %w", err)
	}
	return p.print(document{Value: map[string]string{"schema": schema}, Sections: []section{{Text: textLines(schema)}}})
}
