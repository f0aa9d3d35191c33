package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// raftSnapshotSaveCmd is `vaultctl operator raft snapshot save`.
type raftSnapshotSaveCmd struct{ app *app }

func newRaftSnapshotSaveCmd(a *app) *cobra.Command {
	c := &raftSnapshotSaveCmd{app: a}
	return &cobra.Command{
		Use:   "save FILE",
		Short: "Save a snapshot of the raft cluster to FILE (needs a root token)",
		Long: `Streams a snapshot of the cluster into FILE.tmp next to FILE, syncs it to
disk and renames it to FILE only once the whole snapshot has arrived. On any
failure (the server aborting the stream, a full disk, Ctrl-C) FILE.tmp is
removed, an existing FILE is left untouched and the exit code is 1. On a
terminal, a byte count shows the progress of long transfers.`,
		Args: exactArgs(1),
		RunE: c.run,
	}
}

func (c *raftSnapshotSaveCmd) run(cmd *cobra.Command, args []string) error {
	p, err := c.app.printer()
	if err != nil {
		return err
	}
	file := args[0]
	if file == "" {
		return usagef("empty file name")
	}
	cl, err := c.app.client()
	if err != nil {
		return err
	}
	prog := c.app.newProgress("Saving snapshot")
	n, warn, err := saveSnapshotFile(cmd.Context(), cl.Raft(), file, prog)
	prog.done()
	if err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	if warn != nil {
		fmt.Fprintf(c.app.stderr, "Warning: %v\n", warn)
	}
	out := map[string]any{"file": file, "bytes": n}
	return p.print(document{Value: out, Sections: []section{{Text: []string{fmt.Sprintf("Saved %d bytes to %s", n, file)}}}})
}

// saveSnapshotFile saves a snapshot to file through file+".tmp" and returns
// its size. The temporary file is created exclusively (two saves to one
// FILE never mix their bytes) and removed on any error. warn reports a
// failure to sync the directory after the rename: FILE is then complete
// but its name might not survive a crash.
func saveSnapshotFile(ctx context.Context, r *client.Raft, file string, prog *progress) (n int64, warn, err error) {
	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return 0, nil, fmt.Errorf("%s exists: another save may be running, or an earlier one was killed; remove it and retry", tmp)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("create temporary file: %w", err)
	}
	n, err = writeSnapshot(ctx, r, f, prog)
	if err == nil {
		err = renameFile(tmp, file)
	}
	if err != nil {
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", tmp, rmErr))
		}
		return n, nil, err
	}
	if err := syncDir(filepath.Dir(file)); err != nil {
		warn = fmt.Errorf("snapshot saved, but syncing its directory failed: %w", err)
	}
	return n, warn, nil
}

// writeSnapshot streams the snapshot into f, syncs and closes it; f is
// closed whatever happens.
func writeSnapshot(ctx context.Context, r *client.Raft, f *os.File, prog *progress) (int64, error) {
	n, err := r.SaveSnapshot(ctx, prog.writer(f))
	if err == nil {
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("sync %s: %w", f.Name(), err)
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", f.Name(), cerr)
	}
	return n, err
}

func renameFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("rename temporary file: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
