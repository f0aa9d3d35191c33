package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// kvGetCmd is `vaultctl kv get`.
type kvGetCmd struct {
	app     *app
	mount   string
	version int
	field   string
}

func newKVGetCmd(a *app) *cobra.Command {
	c := &kvGetCmd{app: a}
	cmd := &cobra.Command{
		Use:   "get [-mount=M] [-version=N] [-field=K] PATH",
		Short: "Read a secret (latest version or -version)",
		Long:  "Reads the secret at PATH. Exit code 2 when it does not exist or the version is deleted.",
		Args:  exactArgs(1),
		RunE:  c.run,
	}
	bindMount(cmd, &c.mount)
	cmd.Flags().IntVar(&c.version, "version", 0, "version to read (default latest)")
	cmd.Flags().StringVar(&c.field, "field", "", "print only this key's value")
	return cmd
}

func (c *kvGetCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	t, err := parseKVPath(c.mount, args[0], false)
	if err != nil {
		return err
	}
	if c.version < 0 {
		return usagef("-version must not be negative")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	s, err := cl.KV(t.mount).Get(cmd.Context(), t.path, client.WithVersion(c.version))
	if errors.Is(err, client.ErrNotFound) {
		return noValueAt(t.api("data"))
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.api("data"), err)
	}
	data := dataFields(s.Data)
	if c.field != "" {
		return printField(c.app.stdout, data, c.field)
	}
	return p.print(document{
		Value: s.Raw,
		Sections: []section{
			{Title: "Secret Path", Text: []string{t.api("data")}},
			keyValueSection("Metadata", versionMetaFields(s.VersionMetadata)),
			keyValueSection("Data", data),
		},
	})
}

// dataFields lists a data map sorted by key.
func dataFields(m map[string]any) []field {
	out := make([]field, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, field{k, m[k]})
	}
	return out
}
