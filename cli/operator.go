package cli

import "github.com/spf13/cobra"

func newOperatorCmd(a *app) *cobra.Command {
	return groupCommand("operator", "Initialize, unseal and seal the server; key ceremonies; manage the raft cluster", "",
		newOperatorInitCmd(a), newOperatorUnsealCmd(a), newOperatorSealCmd(a),
		newOperatorRekeyCmd(a), newOperatorRotateKeysCmd(a), newOperatorGenerateRootCmd(a), newOperatorRotateCmd(a),
		newOperatorRaftCmd(a))
}
