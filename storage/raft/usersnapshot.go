package raft

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"
)

// User snapshot format (SaveSnapshot, RestoreSnapshot). Every integer is
// big-endian:
//
//	8 bytes   magic "SVRAFTSN"
//	uint16    format version (snapshotFormat = 1)
//	uint32    header length h (at most maxSnapshotHeader)
//	h bytes   header, JSON (SnapshotHeader)
//	uint64    data length d
//	d bytes   the FSM's bbolt file (values are barrier ciphertext)
//	32 bytes  SHA-256 of every byte above
//
// The checksum comes last so that a snapshot can be streamed while it is
// produced; a reader must therefore not trust anything before checking it
// (RestoreSnapshot spools the data to a temp file first). A stream cut
// short has no valid checksum, so a truncated file is always rejected.
const (
	snapshotMagic     = "SVRAFTSN"
	snapshotFormat    = 1
	maxSnapshotHeader = 1 << 20
)

// SnapshotHeader describes a user snapshot. Index and Term are the raft
// position of the last entry the data includes, in the cluster it was
// taken from.
type SnapshotHeader struct {
	Format        int       `json:"format"`
	ClusterID     string    `json:"cluster_id,omitempty"`
	NodeID        string    `json:"node_id"`
	Index         uint64    `json:"index"`
	Term          uint64    `json:"term"`
	Created       time.Time `json:"created"`
	Configuration []Server  `json:"configuration,omitempty"`
	DataSize      uint64    `json:"data_size"`
}

// SetClusterID sets the cluster identity written into user snapshots and
// checked by RestoreSnapshot without force. Empty (the default) disables
// the check. core sets it after unseal.
func (s *Store) SetClusterID(id string) { s.clusterID.Store(&id) }

func (s *Store) getClusterID() string {
	if p := s.clusterID.Load(); p != nil {
		return *p
	}
	return ""
}

// SaveSnapshot writes a consistent snapshot of this node's state to w in
// the user snapshot format (see above): one bbolt read transaction, so
// exactly the state at the index in the header. It works on any node, even
// before Start (a follower's snapshot may lag the leader; call it on the
// leader for the latest state). Any error, from w or ctx, is returned:
// a caller that gets an error must discard what was written.
func (s *Store) SaveSnapshot(ctx context.Context, w io.Writer) error {
	if err := s.readable(ctx); err != nil {
		return err
	}
	hdr := SnapshotHeader{Format: snapshotFormat, ClusterID: s.getClusterID(), NodeID: s.cfg.NodeID, Created: time.Now().UTC().Truncate(time.Second)}
	if n := s.node.Load(); n != nil {
		if servers, err := s.Configuration(ctx); err == nil {
			hdr.Configuration = servers
		}
	}
	hash := sha256.New()
	out := &ctxWriter{ctx: ctx, w: io.MultiWriter(w, hash)}
	err := s.fsm.view(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		hdr.Index = readUint64(meta, keyAppliedIndex)
		hdr.Term = readUint64(meta, keyAppliedTerm)
		hdr.DataSize = uint64(tx.Size())
		if err := writeSnapshotHeader(out, &hdr); err != nil {
			return err
		}
		n, err := tx.WriteTo(out)
		if err != nil {
			return err
		}
		if uint64(n) != hdr.DataSize {
			return fmt.Errorf("wrote %d of %d data bytes", n, hdr.DataSize)
		}
		return nil
	})
	if out.err != nil {
		err = out.err
	}
	if err == nil {
		err = out.ctx.Err()
	}
	if err == nil {
		if n, werr := w.Write(hash.Sum(nil)); werr != nil {
			err = werr
		} else if n < sha256.Size {
			err = io.ErrShortWrite
		}
	}
	if err != nil {
		return fmt.Errorf("raft: save snapshot: %w", err)
	}
	return nil
}

func writeSnapshotHeader(w io.Writer, hdr *SnapshotHeader) error {
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(snapshotMagic)+2+4+len(js)+8)
	buf = append(buf, snapshotMagic...)
	buf = binary.BigEndian.AppendUint16(buf, snapshotFormat)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(js)))
	buf = append(buf, js...)
	buf = binary.BigEndian.AppendUint64(buf, hdr.DataSize)
	_, err = w.Write(buf)
	return err
}

// ctxWriter fails writes once ctx is done, so a cancelled save stops, and
// keeps the first error (bbolt's WriteTo reports it without wrapping).
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
	err error
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.err = c.ctx.Err(); c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// RestoreSnapshot replaces the state of the whole cluster with a snapshot
// written by SaveSnapshot. It must be called on the leader. The snapshot
// is first spooled to a temp file and checked: complete, SHA-256 matching,
// a valid bbolt file with this package's buckets, and, unless force, from
// this cluster (when both sides have a cluster ID, see SetClusterID). Any
// failure returns an error wrapping ErrBadSnapshot or ErrClusterMismatch
// and changes nothing. Then raft installs it as a user restore: the
// leader's state is replaced, the snapshot is stamped with the CURRENT
// membership (the one in the header is informational only, so a restore
// never leaves the cluster unable to elect), and followers install it
// from the leader. Writes in flight at that moment fail. ctx bounds the
// checks; once raft has taken the snapshot the restore runs to the end.
func (s *Store) RestoreSnapshot(ctx context.Context, r io.Reader, force bool) error {
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: restore snapshot: %w", err)
	}
	if n.raft.State() != hraft.Leader {
		return fmt.Errorf("raft: restore snapshot: %w", s.notLeader())
	}
	f, hdr, err := s.spoolSnapshot(ctx, r)
	if err != nil {
		return fmt.Errorf("raft: restore snapshot: %w", err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	own := s.getClusterID()
	if !force && own != "" && hdr.ClusterID != "" && own != hdr.ClusterID {
		return fmt.Errorf("raft: restore snapshot: %w (snapshot %q, this cluster %q; use force)", ErrClusterMismatch, hdr.ClusterID, own)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("raft: restore snapshot: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("raft: restore snapshot: %w", err)
	}
	meta := &hraft.SnapshotMeta{Version: hraft.SnapshotVersionMax, Size: int64(hdr.DataSize)}
	if err := n.raft.Restore(meta, f, s.cfg.ApplyTimeout); err != nil {
		return fmt.Errorf("raft: restore snapshot: %w", s.applyError(err))
	}
	s.logger.Info("raft: user snapshot restored", "from_node", hdr.NodeID, "from_index", hdr.Index,
		"applied_index", s.AppliedIndex())
	return nil
}

// spoolSnapshot reads a user snapshot from r, writes its data to a temp
// file (returned open) and verifies it; see RestoreSnapshot.
func (s *Store) spoolSnapshot(ctx context.Context, r io.Reader) (*os.File, *SnapshotHeader, error) {
	f, err := os.CreateTemp(filepath.Join(s.cfg.DataDir, raftDir), userRestorePattern)
	if err != nil {
		return nil, nil, err
	}
	hdr, err := readSnapshot(ctx, r, f)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = checkSnapshotData(f.Name())
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, nil, err
	}
	return f, hdr, nil
}

// readSnapshot parses the framing, copies the data to dst and checks the
// trailing checksum and that nothing follows it.
func readSnapshot(ctx context.Context, r io.Reader, dst io.Writer) (*SnapshotHeader, error) {
	hash := sha256.New()
	br := bufio.NewReaderSize(r, 64<<10)
	in := io.TeeReader(br, hash)
	fixed := make([]byte, len(snapshotMagic)+2+4)
	if _, err := io.ReadFull(in, fixed); err != nil {
		return nil, badSnapshot("header", err)
	}
	if string(fixed[:len(snapshotMagic)]) != snapshotMagic {
		return nil, badSnapshot("magic", errors.New("not a SecretumVault raft snapshot"))
	}
	if v := binary.BigEndian.Uint16(fixed[8:]); v != snapshotFormat {
		return nil, badSnapshot("format", fmt.Errorf("unsupported version %d", v))
	}
	hlen := binary.BigEndian.Uint32(fixed[10:])
	if hlen > maxSnapshotHeader {
		return nil, badSnapshot("header", fmt.Errorf("length %d too large", hlen))
	}
	raw := make([]byte, int(hlen)+8)
	if _, err := io.ReadFull(in, raw); err != nil {
		return nil, badSnapshot("header", err)
	}
	var hdr SnapshotHeader
	if err := json.Unmarshal(raw[:hlen], &hdr); err != nil {
		return nil, badSnapshot("header", err)
	}
	size := binary.BigEndian.Uint64(raw[hlen:])
	if size != hdr.DataSize {
		return nil, badSnapshot("header", fmt.Errorf("data size %d, header says %d", size, hdr.DataSize))
	}
	n, err := io.Copy(&ctxWriter{ctx: ctx, w: dst}, io.LimitReader(in, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("spool snapshot: %w", err)
	}
	if uint64(n) != size {
		return nil, badSnapshot("data", fmt.Errorf("truncated: %d of %d bytes", n, size))
	}
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, sum); err != nil {
		return nil, badSnapshot("checksum", err)
	}
	if subtle.ConstantTimeCompare(sum, hash.Sum(nil)) != 1 {
		return nil, badSnapshot("checksum", errors.New("SHA-256 mismatch"))
	}
	if extra, _ := br.Read(make([]byte, 1)); extra != 0 {
		return nil, badSnapshot("trailer", errors.New("data after the checksum"))
	}
	return &hdr, nil
}

func badSnapshot(part string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s: %w", ErrBadSnapshot, part, err)
}

// checkSnapshotData opens the spooled bbolt file read-only, checks our
// buckets exist and runs bbolt's consistency check: raft treats a failed
// FSM restore as fatal, so nothing it could trip on may get that far.
func checkSnapshotData(path string) error {
	opts := boltOptions()
	opts.ReadOnly = true
	opts.InitialMmapSize = 0
	db, err := bbolt.Open(path, 0o600, opts)
	if err != nil {
		return badSnapshot("data", err)
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketData) == nil || tx.Bucket(bucketMeta) == nil {
			return badSnapshot("data", errNoBuckets)
		}
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return badSnapshot("data", errors.Join(errs...))
		}
		return nil
	})
}
