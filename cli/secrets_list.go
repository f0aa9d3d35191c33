package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// newSecretsListCmd is `vaultctl secrets list` (the mounted engines).
func newSecretsListCmd(a *app) *cobra.Command {
	return newMountListCmd(a, "List the mounted secrets engines (for named secrets see \"secrets ls\")",
		"listing secrets engines", (*client.Sys).ListMounts)
}
