package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// newAuthListCmd is `vaultctl auth list`.
func newAuthListCmd(a *app) *cobra.Command {
	return newMountListCmd(a, "List the enabled auth methods", "listing auth methods", (*client.Sys).ListAuth)
}
