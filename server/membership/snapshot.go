package membership

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Snapshot archives are laid out as Vault's: a gzipped tar holding
// meta.json, state.bin (the raft store's framed, checksummed snapshot of
// barrier ciphertext), SHA256SUMS and SHA256SUMS.sealed (the sums
// encrypted by the barrier, which ties the archive to this cluster's
// keyring). Vault clients check that SHA256SUMS.sealed is present to catch
// truncated downloads.
const (
	snapStateFile  = "state.bin"
	snapSumsFile   = "SHA256SUMS"
	snapSealedFile = "SHA256SUMS.sealed"
	snapMetaFile   = "meta.json"
)

// SaveSnapshot writes a snapshot archive of the whole store to w.
func (m *Membership) SaveSnapshot(ctx context.Context, w io.Writer) error {
	tmp, err := os.CreateTemp("", "secretum-snapshot-")
	if err != nil {
		return fmt.Errorf("membership: snapshot spool: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(tmp, h))
	if err := m.cluster.SaveSnapshot(ctx, bw); err != nil {
		return fmt.Errorf("membership: save snapshot: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("membership: snapshot spool: %w", err)
	}
	sums := []byte(hex.EncodeToString(h.Sum(nil)) + "  " + snapStateFile + "\n")
	sealed, err := m.barrier.Encrypt(snapSumsContext, sums)
	if err != nil {
		return fmt.Errorf("membership: seal snapshot sums: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return writeArchive(w, tmp, sums, sealed)
}

func writeArchive(w io.Writer, state *os.File, sums, sealed []byte) error {
	st, err := state.Stat()
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	meta, _ := json.Marshal(map[string]any{"format": "secretumvault-raft", "version": 1})
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	for _, f := range []struct {
		name string
		size int64
		r    io.Reader
	}{
		{snapMetaFile, int64(len(meta)), strings.NewReader(string(meta))},
		{snapStateFile, st.Size(), state},
		{snapSumsFile, int64(len(sums)), strings.NewReader(string(sums))},
		{snapSealedFile, int64(len(sealed)), strings.NewReader(string(sealed))},
	} {
		if err := add(f.name, f.size, f.r); err != nil {
			return fmt.Errorf("membership: write snapshot archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// RestoreSnapshot verifies a snapshot archive and installs it
// cluster-wide (keeping the current raft membership, so the cluster can
// still elect). Without force the archive must come from this cluster (its
// sealed sums must open with this keyring). A snapshot of another cluster
// carries that cluster's keyring: the caller must then rebuild its active
// state, or seal if this node's keys no longer open it, as in Vault.
// beforeInstall, when set, runs once the archive is verified and just
// before the state is replaced (the caller ends its active period there,
// so nothing it runs writes into the restored state).
func (m *Membership) RestoreSnapshot(ctx context.Context, r io.Reader, force bool, beforeInstall func()) error {
	state, err := m.readArchive(r, force)
	if err != nil {
		return err
	}
	defer os.Remove(state.Name())
	defer state.Close()
	if beforeInstall != nil {
		beforeInstall()
	}
	if err := m.cluster.RestoreSnapshot(ctx, state, force); err != nil {
		return fmt.Errorf("%w: restore snapshot: %v", logical.ErrInvalidRequest, err)
	}
	return nil
}

// readArchive spools state.bin to a temporary file and checks it against
// SHA256SUMS (and, without force, SHA256SUMS.sealed against the keyring).
func (m *Membership) readArchive(r io.Reader, force bool) (*os.File, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not a snapshot archive: %v", ErrSnapshotIntegrity, err)
	}
	tmp, err := os.CreateTemp("", "secretum-restore-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	var sums, sealed []byte
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSnapshotIntegrity, err)
		}
		switch hdr.Name {
		case snapStateFile:
			if _, err := io.Copy(io.MultiWriter(tmp, h), tr); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSnapshotIntegrity, err)
			}
		case snapSumsFile:
			sums, err = io.ReadAll(io.LimitReader(tr, 4096))
		case snapSealedFile:
			sealed, err = io.ReadAll(io.LimitReader(tr, 4096))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSnapshotIntegrity, err)
		}
	}
	want := []byte(hex.EncodeToString(h.Sum(nil)) + "  " + snapStateFile + "\n")
	if subtle.ConstantTimeCompare(want, sums) != 1 {
		return nil, fmt.Errorf("%w: state.bin does not match SHA256SUMS (truncated or altered)", ErrSnapshotIntegrity)
	}
	if !force {
		opened, err := m.barrier.Decrypt(snapSumsContext, sealed)
		if err != nil || subtle.ConstantTimeCompare(opened, sums) != 1 {
			return nil, ErrSnapshotForeign
		}
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	ok = true
	return tmp, nil
}
