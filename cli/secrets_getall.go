package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// secretsGetallCmd is `vaultctl secrets getall`.
type secretsGetallCmd struct {
	app    *app
	mount  string
	format string
}

func newSecretsGetallCmd(a *app) *cobra.Command {
	c := &secretsGetallCmd{app: a}
	cmd := &cobra.Command{
		Use:   "getall [-f json|yaml|csv|table] [PREFIX]",
		Short: "Print every named secret (under folder PREFIX) with its value",
		Long: `Prints every name under the folder PREFIX with the value of its latest version:
json and yaml give an object {"NAME": "VALUE"}, csv the header name,value then
one row per secret. Names whose latest version is deleted are skipped; names
not stored by "secrets put" are skipped with a warning on stderr.`,
		Args: rangeArgs(0, 1),
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	cmd.Flags().StringVarP(&c.format, "format", "f", formatJSON, "output format: json, yaml, csv or table")
	return cmd
}

func (c *secretsGetallCmd) run(cmd *cobra.Command, args []string) error {
	p, err := newPrinter(c.app.stdout, c.format, true)
	if err != nil {
		return err
	}
	prefix, err := folderPrefix(firstArg(args))
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	kv := cl.KV(c.app.credMount(c.mount))
	names, err := walkNames(cmd.Context(), kv, prefix)
	if err != nil {
		return fmt.Errorf("listing names: %w", err)
	}
	values := make(map[string]string, len(names))
	rows := make([][]string, 0, len(names))
	for _, n := range names {
		v, err := getValue(cmd, kv, n, 0)
		switch {
		case errors.Is(err, errNameNotFound):
			continue
		case errors.Is(err, errNoValueField):
			fmt.Fprintf(c.app.stderr, "warning: skipping %s: %v\n", n, errNoValueField)
			continue
		case err != nil:
			return err
		}
		values[n] = v
		rows = append(rows, []string{n, v})
	}
	return p.print(document{Value: values, Sections: []section{{Header: []string{"name", "value"}, Rows: rows}}})
}
