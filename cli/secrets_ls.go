package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// secretsLsCmd is `vaultctl secrets ls`.
type secretsLsCmd struct {
	app   *app
	mount string
}

func newSecretsLsCmd(a *app) *cobra.Command {
	c := &secretsLsCmd{app: a}
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List every named secret (under folder PREFIX) with its latest version",
		Long: `Lists, recursively, every name on the named-secrets mount under the folder
PREFIX ("app" and "app/" both mean everything below app/), with its current
version. -format may also be csv.`,
		Args: rangeArgs(0, 1),
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	return cmd
}

// nameVersion is one entry of the json/yaml output of secrets ls.
type nameVersion struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

func (c *secretsLsCmd) run(cmd *cobra.Command, args []string) error {
	p, err := newPrinter(c.app.stdout, c.app.formatOrEnv(), formatCSV)
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
	out := make([]nameVersion, 0, len(names))
	rows := make([][]string, 0, len(names))
	for _, n := range names {
		m, err := kv.Metadata(cmd.Context(), n)
		if err != nil {
			return fmt.Errorf("reading metadata of %s: %w", n, err)
		}
		out = append(out, nameVersion{Name: n, Version: m.CurrentVersion})
		rows = append(rows, []string{n, itoa(m.CurrentVersion)})
	}
	return p.print(document{Value: out, Sections: []section{{Header: []string{"Name", "Version"}, Rows: rows}}})
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// formatOrEnv is the -format flag, else $VAULT_FORMAT.
func (a *app) formatOrEnv() string {
	if a.format != "" {
		return a.format
	}
	return a.env(envFormat)
}
