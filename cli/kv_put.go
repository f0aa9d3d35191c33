package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// kvPutCmd is `vaultctl kv put`.
type kvPutCmd struct {
	app   *app
	mount string
	cas   int
}

func newKVPutCmd(a *app) *cobra.Command {
	c := &kvPutCmd{app: a}
	cmd := &cobra.Command{
		Use:   "put [-mount=M] [-cas=N] PATH KEY=VALUE ...",
		Short: "Write a new version of a secret",
		Long: `Writes KEY=VALUE pairs as a new version of the secret at PATH. VALUE "@file"
reads a file, "-" reads stdin; a bare "-" or "@file.json" merges a JSON object.
-cas=N writes only if the current version is N (0: only if absent).`,
		Args: minArgs(2),
		RunE: c.run,
	}
	bindMount(cmd, &c.mount)
	cmd.Flags().IntVar(&c.cas, "cas", -1, "check-and-set: the version the secret must be at (0: must not exist)")
	return cmd
}

func (c *kvPutCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	t, err := parseKVPath(c.mount, args[0], false)
	if err != nil {
		return err
	}
	kvp := &kvParser{stdin: c.app.stdin}
	data, err := kvp.parse(args[1:])
	if err != nil {
		return err
	}
	var opts []client.PutOption
	if c.cas >= 0 {
		opts = append(opts, client.WithCAS(c.cas))
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	meta, err := cl.KV(t.mount).Put(cmd.Context(), t.path, data, opts...)
	if err != nil {
		return fmt.Errorf("writing %s: %w", t.api("data"), err)
	}
	return p.print(document{
		Value: versionMetaValue(meta),
		Sections: []section{
			{Title: "Secret Path", Text: []string{t.api("data")}},
			keyValueSection("Metadata", versionMetaFields(meta)),
		},
	})
}
