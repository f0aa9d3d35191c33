package cli

import "github.com/spf13/cobra"

func newAuthCmd(a *app) *cobra.Command {
	return groupCommand("auth", "Enable, disable and list auth methods",
		`Manages auth methods, as "vault auth" does:

  auth enable [-path=P] TYPE   enable a method (approle, userpass, keypair, cert, jwt)
  auth disable PATH            disable a method and revoke the tokens it issued
  auth list [-detailed]        list the enabled methods

Log in through a method with "vaultctl login -method=TYPE".`,
		newAuthEnableCmd(a), newAuthDisableCmd(a), newAuthListCmd(a))
}
