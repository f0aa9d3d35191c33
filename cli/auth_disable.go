package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// newAuthDisableCmd is `vaultctl auth disable`.
func newAuthDisableCmd(a *app) *cobra.Command {
	return newMountDisableCmd(a, mountDisable{
		short:   "Disable an auth method and revoke the tokens it issued",
		prefix:  "auth/",
		failed:  "disabling auth method at %s",
		done:    "Success! Disabled the auth method (if it existed) at: %s/",
		disable: (*client.Sys).DisableAuth,
	})
}
