package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
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
	_, err := fetchAndPrint(cmd.Context(), c.app, "reading the Cedar schema", onSys((*client.Sys).CedarSchema), schemaDocument)
	return err
}

// schemaDocument prints the schema text, or {"schema": TEXT}.
func schemaDocument(schema string) document {
	return document{Value: map[string]string{"schema": schema}, Sections: []section{{Text: textLines(schema)}}}
}
