package cli

import (
	"errors"
	"fmt"
	"strings"

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
		Use:   "getall [-f json|yaml|csv|dotenv|table] [PREFIX] [KEY=VALUE ...]",
		Short: "Print every named secret (under folder PREFIX) with its value",
		Long: `Prints every name under the folder PREFIX with the value of its latest version:
json and yaml give an object {"NAME": "VALUE"}, csv the header name,value then
one row per secret, dotenv one NAME="VALUE" line per secret (NAME upper-cased,
other characters than letters and digits as _). Names whose latest version is
deleted are skipped; names not stored by "secrets put" are skipped with a
warning on stderr, and so are context-bound secrets whose encryption context
(KEY=VALUE arguments, none by default) the server refuses. On a terminal, a progress line
counts the secrets read.`,
		Args: cobra.ArbitraryArgs,
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	cmd.Flags().StringVarP(&c.format, "format", "f", formatJSON, "output format: json, yaml, csv, dotenv or table")
	return cmd
}

// splitPrefixContext separates an optional PREFIX (the first argument
// without "=") from KEY=VALUE arguments.
func splitPrefixContext(args []string) (string, []string) {
	if len(args) > 0 && !strings.Contains(args[0], "=") {
		return args[0], args[1:]
	}
	return "", args
}

func (c *secretsGetallCmd) run(cmd *cobra.Command, args []string) error {
	p, err := newPrinter(c.app.stdout, c.format, formatCSV, formatDotenv)
	if err != nil {
		return err
	}
	rawPrefix, ctxArgs := splitPrefixContext(args)
	prefix, err := folderPrefix(rawPrefix)
	if err != nil {
		return err
	}
	ec, err := parseContext(ctxArgs)
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
	r := valueReader{cl: cl, kv: kv, ec: ec}
	prog := c.app.newCountProgress("Reading secrets", len(names))
	values, err := r.values(cmd.Context(), names, c.skip, prog.inc)
	prog.done()
	if err != nil {
		return err
	}
	return p.print(valuesDocument(values))
}

// skip leaves out deleted names silently, and names that are not
// readable as named secrets with a warning.
func (c *secretsGetallCmd) skip(name string, err error) bool {
	switch {
	case errors.Is(err, errNameNotFound):
		return true
	case errors.Is(err, errNoValueField):
		fmt.Fprintf(c.app.stderr, "warning: skipping %s: %v\n", name, errNoValueField)
		return true
	case errors.Is(err, errContextRefused):
		fmt.Fprintf(c.app.stderr, "warning: skipping %s: %v\n", name, err)
		return true
	}
	return false
}
