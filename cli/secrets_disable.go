package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// newSecretsDisableCmd is `vaultctl secrets disable`.
func newSecretsDisableCmd(a *app) *cobra.Command {
	return newMountDisableCmd(a, mountDisable{
		short:   "Unmount a secrets engine and delete all its data",
		failed:  "disabling %s",
		done:    "Success! Disabled the secrets engine (if it existed) at: %s/",
		disable: (*client.Sys).DisableMount,
	})
}
