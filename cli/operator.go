package cli

import "github.com/spf13/cobra"

func newOperatorCmd(a *app) *cobra.Command {
	return groupCommand("operator", "Initialize, unseal and seal the server; manage the raft cluster", "",
		newOperatorInitCmd(a), newOperatorUnsealCmd(a), newOperatorSealCmd(a), newOperatorRaftCmd(a))
}
