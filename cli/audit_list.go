package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// auditListCmd is `vaultctl audit list`.
type auditListCmd struct {
	app      *app
	detailed bool
}

func newAuditListCmd(a *app) *cobra.Command {
	c := &auditListCmd{app: a}
	cmd := &cobra.Command{
		Use:   "list [-detailed]",
		Short: "List the enabled audit devices",
		Long: `Lists the enabled audit devices (GET sys/audit): path, type and description;
-detailed adds whether each is replicated and its options.`,
		Args: noArgs,
		RunE: c.run,
	}
	cmd.Flags().BoolVar(&c.detailed, "detailed", false, "also show replication and options")
	return cmd
}

func (c *auditListCmd) run(cmd *cobra.Command, _ []string) error {
	_, err := fetchAndPrint(cmd.Context(), c.app, "listing audit devices", onSys((*client.Sys).ListAudit), c.document)
	return err
}

func (c *auditListCmd) document(devices map[string]*client.AuditDevice) document {
	if len(devices) == 0 {
		return document{Value: devices, Sections: []section{{Text: []string{"No audit devices are enabled."}}}}
	}
	header := []string{"Path", "Type", "Description"}
	if c.detailed {
		header = append(header, "Replication", "Options")
	}
	var rows [][]string
	for _, path := range sortedKeys(devices) {
		d := devices[path]
		row := []string{path, d.Type, d.Description}
		if c.detailed {
			replication := "replicated"
			if d.Local {
				replication = "local"
			}
			row = append(row, replication, cell(mapOrNil(d.Options)))
		}
		rows = append(rows, row)
	}
	return document{Value: devices, Sections: []section{{Header: header, Rows: rows}}}
}
