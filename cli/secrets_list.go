package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// secretsListCmd is `vaultctl secrets list` (the mounted engines).
type secretsListCmd struct {
	app      *app
	detailed bool
}

func newSecretsListCmd(a *app) *cobra.Command {
	c := &secretsListCmd{app: a}
	cmd := &cobra.Command{
		Use:   "list [-detailed]",
		Short: "List the mounted secrets engines (for named secrets see \"secrets ls\")",
		Args:  noArgs,
		RunE:  c.run,
	}
	cmd.Flags().BoolVar(&c.detailed, "detailed", false, "also show options and TTLs")
	return cmd
}

func (c *secretsListCmd) run(cmd *cobra.Command, _ []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	mounts, err := cl.Sys().ListMounts(cmd.Context())
	if err != nil {
		return fmt.Errorf("listing secrets engines: %w", err)
	}
	return p.print(mountsDocument(mounts, c.detailed))
}

func mountsDocument(mounts map[string]*client.MountOutput, detailed bool) document {
	header := []string{"Path", "Type", "Accessor", "Description"}
	if detailed {
		header = append(header, "Options", "Default TTL", "Max TTL")
	}
	var rows [][]string
	for _, path := range sortedKeys(mounts) {
		m := mounts[path]
		row := []string{path, m.Type, m.Accessor, m.Description}
		if detailed {
			row = append(row, cell(mapOrNil(m.Options)), ttlCell(m.Config.DefaultLeaseTTL), ttlCell(m.Config.MaxLeaseTTL))
		}
		rows = append(rows, row)
	}
	return document{Value: mounts, Sections: []section{{Header: header, Rows: rows}}}
}

// ttlCell shows 0 as "system" (the server default), as Vault does.
func ttlCell(seconds int) string {
	if seconds == 0 {
		return "system"
	}
	return humanDuration(seconds)
}

func mapOrNil(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}
