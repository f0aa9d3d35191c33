package cli

import "github.com/spf13/cobra"

func newOperatorRaftCmd(a *app) *cobra.Command {
	return groupCommand("raft", "Manage the raft cluster: peers, join, remove-peer, snapshots", "",
		newRaftListPeersCmd(a), newRaftJoinCmd(a), newRaftRemovePeerCmd(a), newRaftSnapshotCmd(a))
}

func newRaftSnapshotCmd(a *app) *cobra.Command {
	return groupCommand("snapshot", "Save and restore snapshots of the raft cluster", "",
		newRaftSnapshotSaveCmd(a), newRaftSnapshotRestoreCmd(a))
}
