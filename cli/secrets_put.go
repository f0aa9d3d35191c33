package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// secretsPutCmd is `vaultctl secrets put`.
type secretsPutCmd struct {
	app   *app
	mount string
	cas   int
}

func newSecretsPutCmd(a *app) *cobra.Command {
	c := &secretsPutCmd{app: a}
	cmd := &cobra.Command{
		Use:   "put NAME VALUE|@file|-",
		Short: "Store a new version of a named secret",
		Long: `Stores VALUE as a new version of NAME, i.e. {"value": VALUE} at the KV v2 path
NAME on the named-secrets mount. "@file" stores the file's contents and "-"
stdin, byte for byte (a trailing newline is kept). -cas=N stores only if the
current version is N (0: only if NAME does not exist).`,
		Args: exactArgs(2),
		RunE: c.run,
	}
	bindCredMount(cmd, &c.mount)
	cmd.Flags().IntVar(&c.cas, "cas", -1, "check-and-set: the version NAME must be at (0: must not exist)")
	return cmd
}

// putResult is the json/yaml output of secrets put.
type putResult struct {
	Name    string `json:"name"`
	Mount   string `json:"mount"`
	Version int    `json:"version"`
}

func (c *secretsPutCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	name := args[0]
	if err := validateName(name); err != nil {
		return err
	}
	kvp := &kvParser{stdin: c.app.stdin}
	value, err := kvp.value(args[1])
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
	mount := c.app.credMount(c.mount)
	meta, err := cl.KV(mount).Put(cmd.Context(), name, map[string]any{valueKey: value}, opts...)
	if err != nil {
		return fmt.Errorf("storing %s: %w", name, err)
	}
	res := putResult{Name: name, Mount: mount, Version: meta.Version}
	return p.print(document{Value: res, Sections: []section{{
		Text: []string{fmt.Sprintf("Stored %s (version %d) in %s/", name, meta.Version, mount)},
	}}})
}
