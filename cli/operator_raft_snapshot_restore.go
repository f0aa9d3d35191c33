package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// raftSnapshotRestoreCmd is `vaultctl operator raft snapshot restore`.
type raftSnapshotRestoreCmd struct {
	app   *app
	force bool
}

func newRaftSnapshotRestoreCmd(a *app) *cobra.Command {
	c := &raftSnapshotRestoreCmd{app: a}
	cmd := &cobra.Command{
		Use:   "restore [-force] FILE",
		Short: "Restore the raft cluster from the snapshot in FILE (needs a root token)",
		Long: `Streams the snapshot in FILE to the cluster, which verifies its checksum
before installing it. -force accepts a snapshot taken from another cluster
(whose unseal keys then apply). On a terminal, a byte count shows the
progress of long uploads.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
	cmd.Flags().BoolVar(&c.force, "force", false, "restore a snapshot of another cluster")
	return cmd
}

func (c *raftSnapshotRestoreCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	file := args[0]
	if file == "" {
		return usagef("empty file name")
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("restoring snapshot: %w", err)
	}
	defer f.Close()
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	prog := c.app.newProgress("Uploading snapshot")
	err = cl.Raft().RestoreSnapshot(cmd.Context(), prog.reader(f), c.force)
	prog.done()
	if err != nil {
		return fmt.Errorf("restoring snapshot: %w", err)
	}
	p.success("Success! Snapshot restored from %s.", file)
	return nil
}
