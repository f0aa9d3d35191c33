package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// operatorRotateCmd is `vaultctl operator rotate`.
type operatorRotateCmd struct{ app *app }

func newOperatorRotateCmd(a *app) *cobra.Command {
	c := &operatorRotateCmd{app: a}
	return vaultExitCodes(&cobra.Command{
		Use:   "rotate",
		Short: "Rotate the barrier encryption key (adds a key term)",
		Long: `Installs a new barrier encryption key (a new key term) and prints the key
status. New data is encrypted with it; older terms still decrypt older data.
An online operation, run once per cluster; it needs a token allowed to.`,
		RunE: c.run,
	})
}

func (c *operatorRotateCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	if err := tooManyArgs(args, 0); err != nil {
		return err
	}
	cl, err := c.app.client()
	if err != nil {
		return remotef("Error: %w", err)
	}
	if err := cl.Sys().Rotate(cmd.Context()); err != nil {
		return remotef("Error rotating key: %w", err)
	}
	ks, err := cl.Sys().KeyStatus(cmd.Context())
	if err != nil {
		return remotef("Error reading key status: %w", err)
	}
	return p.print(keyStatusDocument(ks, "Success! Rotated key", ""))
}

// keyStatusDocument renders the barrier key status as Vault's command
// does, after the text lines intro: term, install time, encryption count.
func keyStatusDocument(ks *client.KeyStatus, intro ...string) document {
	rows := columnRows([]field{
		{"Key Term", ks.Term},
		{"Install Time", ks.InstallTime.UTC().Format(time.RFC822)},
		{"Encryption Count", ks.Encryptions},
	})
	return document{Value: ks, Sections: []section{{Text: intro, Rows: rows}}}
}
