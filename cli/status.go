package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// statusCmd is `vaultctl status`.
type statusCmd struct {
	app   *app
	watch bool
}

func newStatusCmd(a *app) *cobra.Command {
	c := &statusCmd{app: a}
	cmd := &cobra.Command{
		Use:   "status [-watch]",
		Short: "Print the seal status of the server",
		Long: "Prints the seal status. Exit code 0: unsealed, 2: sealed, 1: error.\n\n" +
			"With -watch, a live view instead (as \"rotation watch\"):\n\n" + watchHelp,
		Args: noArgs,
		RunE: c.run,
	}
	cmd.Flags().BoolVar(&c.watch, "watch", false, "live view of the cluster, rotation and audit failures, refreshed every second (q quits)")
	return cmd
}

func (c *statusCmd) run(cmd *cobra.Command, _ []string) error {
	if c.watch {
		return c.app.watch(cmd.Context())
	}
	st, err := fetchAndPrint(cmd.Context(), c.app, "checking seal status", onSys((*client.Sys).SealStatus), sealStatusDocument)
	if err != nil {
		return err
	}
	if st.Sealed {
		return &exitError{code: ExitUsage}
	}
	return nil
}

// sealStatusDocument renders a seal status as `vault status` does.
func sealStatusDocument(st *client.SealStatus) document {
	fields := []field{
		{"Seal Type", st.Type},
		{"Initialized", st.Initialized},
		{"Sealed", st.Sealed},
		{"Total Shares", st.N},
		{"Threshold", st.T},
	}
	if st.Sealed {
		nonce := st.Nonce
		if nonce == "" {
			nonce = "n/a"
		}
		fields = append(fields, field{"Unseal Progress", fmt.Sprintf("%d/%d", st.Progress, st.T)},
			field{"Unseal Nonce", nonce})
	}
	fields = append(fields, field{"Version", st.Version})
	if st.BuildDate != "" {
		fields = append(fields, field{"Build Date", st.BuildDate})
	}
	if st.StorageType != "" {
		fields = append(fields, field{"Storage Type", st.StorageType})
	}
	if !st.Sealed && st.ClusterName != "" {
		fields = append(fields, field{"Cluster Name", st.ClusterName}, field{"Cluster ID", st.ClusterID})
	}
	return document{Value: st, Sections: []section{keyValueSection("", fields)}}
}
